"""The environment guard of tests/conftest.py: what it calls a leak, and how it undoes one."""

from __future__ import annotations

from tests import env_guard


def test_only_the_shops_and_opentelemetrys_variables_are_watched() -> None:
    environ = {"CLOUDMALL_PORT": "1", "OTEL_SERVICE_NAME": "s", "PATH": "/bin", "XCLOUDMALL_A": "1"}
    assert env_guard.watched(environ) == {"CLOUDMALL_PORT": "1", "OTEL_SERVICE_NAME": "s"}


def test_each_change_is_named_with_how_it_changed() -> None:
    before = {"CLOUDMALL_A": "1", "CLOUDMALL_B": "2", "OTEL_C": "3"}
    after = {"CLOUDMALL_A": "1", "CLOUDMALL_B": "20", "OTEL_D": "4"}
    assert env_guard.changes(before, after) == [
        "CLOUDMALL_B (changed)",
        "OTEL_C (unset)",
        "OTEL_D (set)",
    ]
    assert env_guard.changes(before, dict(before)) == []


def test_restore_puts_the_watched_variables_back_and_leaves_the_others() -> None:
    environ = {"CLOUDMALL_A": "10", "CLOUDMALL_NEW": "x", "PATH": "/usr/bin"}
    env_guard.restore({"CLOUDMALL_A": "1", "OTEL_GONE": "2"}, environ)
    assert environ == {"CLOUDMALL_A": "1", "OTEL_GONE": "2", "PATH": "/usr/bin"}
