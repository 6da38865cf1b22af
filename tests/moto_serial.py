"""moto's server answering one request at a time: the local DynamoDB of the tests.

moto's threaded server runs requests side by side, and its TransactWriteItems is not atomic
across threads (it copies the tables and, on a refused condition, puts the copy back, undoing
whatever other transactions wrote meanwhile). One request at a time makes each transaction
atomic, as DynamoDB's are; the shop's own concurrency is unchanged (its requests queue here).

    python -m tests.moto_serial PORT
"""

from __future__ import annotations

import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

if __name__ == "__main__":
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "127.0.0.1", int(sys.argv[1]), app, threaded=False, request_handler=MotoRequestHandler
    )
