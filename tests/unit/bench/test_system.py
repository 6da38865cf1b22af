"""bench/system.py: the wait for a settled machine before a measured run."""

from __future__ import annotations

from bench import system


def test_the_wait_ends_once_the_backlog_is_done() -> None:
    left = iter([300, 120, 0, 0])
    settled = system.wait_settled(5, lambda: next(left), below=1.01, sample=0.01)
    assert settled["backlog"] == 0
    assert settled["quiet"]
    assert next(left) == 0  # polled three times, not four


def test_the_wait_is_bounded_and_reports_what_is_left() -> None:
    settled = system.wait_settled(0.05, lambda: 7, below=1.01, sample=0.01)
    assert settled["backlog"] == 7
    assert 0.03 <= settled["waited_s"] < 1


def test_waiting_for_quiet_is_settling_with_no_backlog() -> None:
    quiet = system.wait_quiet(5, below=1.01, sample=0.01)
    assert set(quiet) == {"busy", "waited_s", "quiet"} and quiet["quiet"]
    assert quiet["waited_s"] < 1
