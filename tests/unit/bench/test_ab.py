"""bench/ab.py: the side-by-side table quotes every round and the medians."""

from __future__ import annotations

from bench.ab import Side, table


def test_the_table_shows_each_round_and_the_medians() -> None:
    base = Side("abc1234", None, [(700.0, 2.04), (648.4, 2.13), (702.0, 2.01)])
    changed = Side("worktree", None, [(976.0, 1.47), (894.6, 1.57), (895.0, 1.59)])
    lines = table([base, changed]).splitlines()
    assert lines[2] == "| abc1234 | 700, 648, 702 | 700 | 2.04, 2.13, 2.01 | 2.04 |"
    assert lines[3] == "| worktree | 976, 895, 895 | 895 | 1.47, 1.57, 1.59 | 1.57 |"
