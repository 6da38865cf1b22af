"""Lambda SnapStart: the hooks the runtime calls around the snapshot of an initialized function."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import snapshot_restore_py
from sqlalchemy.engine import make_url

from tests.integration.serverless.conftest import MakeFunction
from tests.integration.serverless.events import event, invoke
from tests.integration.serverless.test_thaw import kill_connections_to


@pytest.fixture
def backend() -> str:
    return "mariadb"  # connections the server lists


@pytest.fixture
def hooks_registered_here() -> Iterator[tuple[list[object], list[object]]]:
    """The hooks registered during the test, as the runtime would find them, and only those."""
    before, after = (
        snapshot_restore_py.get_before_snapshot(),
        snapshot_restore_py.get_after_restore(),
    )
    already = len(before), len(after)
    yield before, after
    del before[already[0] :], after[already[1] :]


def run(hooks: list[object]) -> None:
    """What the Lambda runtime does with a registry: call each (function, args, kwargs)."""
    for hook, args, kwargs in hooks:  # type: ignore[misc]
        hook(*args, **kwargs)


def test_the_snapshot_holds_no_connection_and_restored_containers_differ(
    make_function: MakeFunction,
    database_url: str,
    hooks_registered_here: tuple[list[object], list[object]],
) -> None:
    before, after = hooks_registered_here
    database = str(make_url(database_url).database)
    function = make_function("catalogue")  # the init: import, shop, first round trips
    assert before and after, "the function registered no SnapStart hook"
    assert kill_connections_to(database), "the init opened no connection to close"

    function = make_function("catalogue")
    run(before)
    assert kill_connections_to(database) == []  # nothing open goes into the snapshot

    run(after)  # a container resumed from the snapshot
    answer = invoke(function, event("GET", "/api/products", query="limit=5"))
    assert answer["statusCode"] == 200, answer
    first_id = answer["headers"]["x-request-id"]
    run(after)  # another container resumed from the same snapshot
    second = invoke(function, event("GET", "/api/products", query="limit=5"))
    assert second["headers"]["x-request-id"].split("-")[0] != first_id.split("-")[0]
