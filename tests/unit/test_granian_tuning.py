"""granian's tuning variables: its defaults when unset, the numbers given otherwise."""

from __future__ import annotations

import pytest

from cloudmall.web.granian_worker import tuning


def test_unset_tuning_keeps_granians_defaults() -> None:
    assert tuning({}) == (1, None)
    assert tuning({"GRANIAN_RUNTIME_THREADS": "", "GRANIAN_BACKPRESSURE": ""}) == (1, None)


def test_tuning_reads_granians_own_variables() -> None:
    assert tuning({"GRANIAN_RUNTIME_THREADS": "2", "GRANIAN_BACKPRESSURE": "64"}) == (2, 64)


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", " 4"])
@pytest.mark.parametrize("name", ["GRANIAN_RUNTIME_THREADS", "GRANIAN_BACKPRESSURE"])
def test_a_bad_number_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be a whole number of at least 1"):
        tuning({name: value})
