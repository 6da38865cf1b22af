"""The inbox on DynamoDB: not there yet. Bootstrap refuses the `broker` outbox reader on a
DynamoDB table, so nothing consumes events on one; this says so if something tries."""

from __future__ import annotations


class NoInbox:
    async def first_time(self, consumer: str, event_id: str) -> bool:
        raise NotImplementedError(
            "the inbox of handled events needs a SQL database; DynamoDB has none yet"
        )
