"""The API docs (/docs): Swagger UI served by the app itself, under the storefront's strict CSP.

Swagger UI's files come from the `fastapi-offline` package (its static folder), not a public
CDN: the page works without internet, loads nothing from a third party, and runs no inline script.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
INIT_SCRIPT = Path(__file__).parent / "docs_assets" / "init.js"
SWAGGER_UI_FILES = Path(str(resources.files("fastapi_offline") / "static"))
PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>cloudmall API</title>
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="{DOCS_PATH}/init.js"></script>
</body>
</html>
"""


def install_api_docs(app: FastAPI) -> None:
    """Adds /docs, its start-up script and Swagger UI's files; the app must have docs_url=None."""
    init_script = INIT_SCRIPT.read_bytes()

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs_page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.get(f"{DOCS_PATH}/init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(init_script, media_type="text/javascript")

    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_UI_FILES), name="docs-assets")
