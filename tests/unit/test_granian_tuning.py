"""granian's tuning variables: its defaults when unset, the numbers given otherwise."""

from __future__ import annotations

from cloudmall.web.granian_worker import tuning


def test_unset_tuning_keeps_granians_defaults() -> None:
    assert tuning({}) == (1, None)
    assert tuning({"GRANIAN_RUNTIME_THREADS": "", "GRANIAN_BACKPRESSURE": ""}) == (1, None)


def test_tuning_reads_granians_own_variables() -> None:
    assert tuning({"GRANIAN_RUNTIME_THREADS": "2", "GRANIAN_BACKPRESSURE": "64"}) == (2, 64)
