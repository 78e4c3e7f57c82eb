"""The OpenAPI browser at ``/api/v1/docs``: Swagger UI 5 (it reads the
OpenAPI 3.1 document FastAPI writes; the 4.x of ``swagger-ui-bundle`` could
not), its files served by the app from the ``fastapi-swagger`` package, so
nothing comes from a CDN, and started by ``docs_assets/docs.js``, so the page
has no inline script and keeps the console's Content-Security-Policy."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from markupsafe import escape

ASSETS = Path(__file__).parent / "docs_assets"
#: The package whose ``resources`` folder holds Swagger UI's dist files.
SWAGGER_PACKAGE = "fastapi_swagger"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/docs.js"></script>
</body>
</html>
"""


def swagger_ui_version() -> str:
    """The fastapi-swagger release serving Swagger UI (docs/console.md)."""
    return metadata.version("fastapi-swagger")


def install(app: FastAPI, prefix: str) -> None:
    """Serve the page at ``{prefix}/docs`` and its files under
    ``{prefix}/docs/assets/`` (ours first, then the package's)."""
    assets = f"{prefix}/docs/assets"
    files = StaticFiles(directory=ASSETS, packages=[(SWAGGER_PACKAGE, "resources")])
    app.mount(assets, files, name="api-docs-assets")
    page = PAGE.format(
        title=escape(app.title),
        assets=assets,
        openapi=escape(app.openapi_url or f"{prefix}/openapi.json"),
    )

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)
