"""The ASGI entry point for servers started by import string (uvicorn/gunicorn workers)."""

from cloudmall.web.app import create_app

app = create_app()
