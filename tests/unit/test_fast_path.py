"""The catalogue fast path's answers: headers made once per cached answer, whole every time."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from starlette.types import Message, Receive, Scope, Send

from cloudmall.services.catalog_cache import CachedBody
from cloudmall.web.fast_path import CatalogFastPath
from cloudmall.web.routers.responses import SERVED_KEY


class Answers:
    """The shop's `peek`: the current cached answer by key (a test may replace it)."""

    def __init__(self, answer: CachedBody) -> None:
        self.current = {answer.key: answer}
        self.routed = 0

    def peek(self, key: str) -> CachedBody | None:
        return self.current.get(key)

    async def route(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The full application: serves the current list and says so."""
        self.routed += 1
        scope[SERVED_KEY] = "list:all"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": self.current["list:all"].body})


def _list(body: bytes) -> CachedBody:
    made = CachedBody.of(body, total=2)
    return CachedBody(body=made.body, etag=made.etag, total=2, key="list:all")


def _get(
    fast_path: CatalogFastPath, answers: Answers, *, if_none_match: bytes | None = None
) -> list[Message]:
    headers = [(b"if-none-match", if_none_match)] if if_none_match else []
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/products",
        "query_string": b"limit=2",
        "headers": headers,
        "app": SimpleNamespace(state=SimpleNamespace(shop=answers)),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"].append((b"x-added-outside", b"1"))  # as CORS does, in place
        sent.append(message)

    asyncio.run(fast_path(scope, receive, send))
    return sent


def test_repeated_answers_carry_the_same_headers_though_the_outside_adds_to_them() -> None:
    answers = Answers(_list(b'[{"id":1},{"id":2}]'))
    fast_path = CatalogFastPath(answers.route)
    _get(fast_path, answers)  # routed: the fast path learns the URL
    first, again = _get(fast_path, answers), _get(fast_path, answers)
    assert answers.routed == 1
    assert first[0]["headers"] == again[0]["headers"]
    assert first[0]["headers"].count((b"x-added-outside", b"1")) == 1
    assert (b"content-length", b"19") in first[0]["headers"]
    assert (b"x-total-count", b"2") in first[0]["headers"]
    assert first[1]["body"] == b'[{"id":1},{"id":2}]'


def test_a_new_answer_under_the_same_key_gets_its_own_headers() -> None:
    answers = Answers(_list(b"[1,2]"))
    fast_path = CatalogFastPath(answers.route)
    _get(fast_path, answers)
    old = _get(fast_path, answers)
    answers.current["list:all"] = _list(b"[1,2,3]")
    new = _get(fast_path, answers)
    assert answers.routed == 1
    old_etag = dict(old[0]["headers"])[b"etag"]
    new_etag = dict(new[0]["headers"])[b"etag"]
    assert old_etag != new_etag
    assert (b"content-length", b"7") in new[0]["headers"]
    assert new[1]["body"] == b"[1,2,3]"
    revalidated = _get(fast_path, answers, if_none_match=new_etag)
    assert revalidated[0]["status"] == 304
    assert dict(revalidated[0]["headers"])[b"etag"] == new_etag
    assert b"content-length" not in dict(revalidated[0]["headers"])
    assert _get(fast_path, answers, if_none_match=old_etag)[0]["status"] == 200
