"""The OpenAPI page at /api/v1/docs as served: Swagger UI 5 (it reads
OpenAPI 3.1) from the app's own files, no inline script, the console's CSP
on the page, and a missing asset is a 404, not a crash (the page in a real
browser: browser/test_api_docs_browser.py)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from fleet_server.api.docs_page import swagger_ui_version


def test_the_page_loads_swagger_ui_5_from_the_app_with_no_inline_script(
    client: TestClient,
) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert [attrs.strip() for attrs, _ in scripts] == [
        'src="/api/v1/docs/assets/swagger-ui-bundle.js"',
        'src="/api/v1/docs/assets/docs.js"',
    ]
    assert all(body.strip() == "" for _, body in scripts)
    assert "//" not in re.sub(r"<!doctype[^>]*>", "", page.text)  # no other host named
    assert 'data-openapi="/api/v1/openapi.json"' in page.text

    bundle = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    major = re.search(rb'PACKAGE_VERSION:"(\d+)\.', bundle.content)
    assert major is not None
    assert int(major.group(1)) >= 5
    start = client.get("/api/v1/docs/assets/docs.js")
    assert start.status_code == 200
    assert b"validatorUrl: null" in start.content  # no badge fetched from another host
    assert client.get("/api/v1/docs/assets/swagger-ui.css").status_code == 200
    assert client.get("/api/v1/docs/assets/favicon-32x32.png").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.1")
    assert swagger_ui_version().startswith("0.4.")


def test_an_unknown_or_escaping_asset_is_not_found(client: TestClient) -> None:
    for name in ("nothing.js", "..%2F..%2Fapp.py", "../docs_page.py"):
        response = client.get(f"/api/v1/docs/assets/{name}")
        assert response.status_code == 404, name
