"""The ASGI entry point of the local function runtime, for uvicorn workers started by import."""

from cloudmall.serverless.gateway import LocalGateway

app = LocalGateway()
