"""bench/ab.py: the side-by-side table quotes every round and the medians."""

from __future__ import annotations

from bench.ab import Side, table


def test_the_table_shows_each_round_and_the_medians() -> None:
    base = Side(
        "abc1234",
        None,
        [(700.0, 2.04, 150.2, 0, 0.5), (648.4, 2.13, 160, 3, 0.7), (702.0, 2.01, 149, 0, 0.6)],
    )
    changed = Side(
        "worktree",
        None,
        [(976.0, 1.47, 120, 0, 0.6), (894.6, 1.57, 130, 0, 0.5), (895.0, 1.59, 125, 0, 0.7)],
    )
    lines = table([base, changed]).splitlines()
    assert lines[2] == (
        "| abc1234 | 700, 648, 702 | 700 | 2.04, 2.13, 2.01 | 2.04 | 150 ms, 160 ms, 149 ms | 3 "
        "| 0.5, 0.7, 0.6 |"
    )
    assert lines[3] == (
        "| worktree | 976, 895, 895 | 895 | 1.47, 1.57, 1.59 | 1.57 | 120 ms, 130 ms, 125 ms | 0 "
        "| 0.6, 0.5, 0.7 |"
    )
