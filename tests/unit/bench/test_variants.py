"""bench/variants.py: set-ups from the command line; each median against the peer's."""

from __future__ import annotations

from bench.variants import Setup, table


def test_a_setup_names_its_server_workers_and_environment() -> None:
    setup = Setup.parse("granian:1:GRANIAN_RUNTIME_THREADS=2:GRANIAN_BACKPRESSURE=64")
    assert (setup.server, setup.workers) == ("granian", 1)
    assert setup.env == {"GRANIAN_RUNTIME_THREADS": "2", "GRANIAN_BACKPRESSURE": "64"}


def test_the_table_quotes_each_round_and_the_median_against_the_peer() -> None:
    shop = Setup("uvicorn:2", "uvicorn", 2, {})
    shop.rows[100] = [(20_000, 0, 0, 9.6, 1.2), (24_000, 3, 1, 11, 1.4), (23_000, 0, 0, 10, 1.3)]
    peer = Setup("express", "", 0, {})
    peer.rows[100] = [(2_000, 0, 0, 60, 1.1), (2_400, 0, 0, 50, 1.5), (2_300, 0, 0, 55, 1.2)]
    lines = table([shop, peer], [100]).splitlines()
    assert lines[2] == (
        "| uvicorn:2 | 100 | 20,000, 24,000, 23,000 | 23,000 | 10.00× | 3 | 1 "
        "| 10 ms, 11 ms, 10 ms | 1.2, 1.4, 1.3 |"
    )
    assert lines[3].startswith("| express | 100 | 2,000, 2,400, 2,300 | 2,300 | 1.00× |")
