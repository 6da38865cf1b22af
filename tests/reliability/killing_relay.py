"""`cloudmall events relay`, SIGKILLed right after its first publish returned: the batch is in
the broker but not finished in the outbox (the window the relay's at-least-once covers).

    python -m tests.reliability.killing_relay   (with the shop's CLOUDMALL_* settings)
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence

from cloudmall.adapters.broker.redis_streams import RedisStreamsBroker
from cloudmall.cli import app
from cloudmall.domain.events import Event

publish = RedisStreamsBroker.publish


async def publish_then_die(self: RedisStreamsBroker, stream: str, events: Sequence[Event]) -> None:
    await publish(self, stream, events)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    RedisStreamsBroker.publish = publish_then_die  # type: ignore[method-assign]
    app(["events", "relay"])
