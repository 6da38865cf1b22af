"""bench/ab.py: the side-by-side table quotes every round and the medians, load by load."""

from __future__ import annotations

from bench.ab import Side, table


def test_the_table_shows_each_round_and_the_medians() -> None:
    base = Side(
        "abc1234",
        None,
        {
            "orders": [
                (700.0, 2.04, 150.2, 0, 0.5),
                (648.4, 2.13, 160, 3, 0.7),
                (702.0, 2.01, 149, 0, 0.6),
            ]
        },
    )
    changed = Side(
        "worktree",
        None,
        {
            "orders": [
                (976.0, 1.47, 120, 0, 0.6),
                (894.6, 1.57, 130, 0, 0.5),
                (895.0, 1.59, 125, 0, 0.7),
            ]
        },
    )
    lines = table([base, changed]).splitlines()
    assert lines[2] == (
        "| abc1234 | orders | 700, 648, 702 | 700 | 2.04, 2.13, 2.01 ms | 2.04 ms "
        "| 150 ms, 160 ms, 149 ms | 3 | 0.5, 0.7, 0.6 |"
    )
    assert lines[3] == (
        "| worktree | orders | 976, 895, 895 | 895 | 1.47, 1.57, 1.59 ms | 1.57 ms "
        "| 120 ms, 130 ms, 125 ms | 0 | 0.6, 0.5, 0.7 |"
    )


def test_the_catalogue_rows_quote_microseconds_per_load_each_side_after_the_other() -> None:
    base = Side("main", None, {"catalogue @100": [(19000.0, 66.4, 11, 0, 2.0)]})
    base.rows["catalogue @1000"] = [(12000.0, 101.2, 400, 175, 2.1)]
    changed = Side("worktree", None, {"catalogue @100": [(20500.0, 59.6, 12, 0, 2.0)]})
    changed.rows["catalogue @1000"] = [(14700.0, 90.4, 300, 0, 2.2)]
    lines = table([base, changed]).splitlines()
    assert [line.split(" | ")[:2] for line in lines[2:]] == [
        ["| main", "catalogue @100"],
        ["| worktree", "catalogue @100"],
        ["| main", "catalogue @1000"],
        ["| worktree", "catalogue @1000"],
    ]
    assert "| 20,500 | 20,500 | 60 µs | 60 µs |" in lines[3]
    assert lines[4].endswith("| 400 ms | 175 | 2.1 |")
