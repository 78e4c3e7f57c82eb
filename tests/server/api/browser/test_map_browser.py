"""The overview's map in a real browser (headless Chromium) on a phone:
Lai Châu's outline and its eight districts with the attribution, every site
inside the drawing, names that do not overlap as the browser lays them out
(real text boxes, in Vietnamese and in English), tap areas of at least
40 px that open the site, and a page that still scrolls and does not
overflow sideways. Screenshots go to build/test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.api.browser.test_console_browser import sign_in
from tests.server.api.console.fleet_state import set_states
from tests.support.clock import Clock

pytestmark = pytest.mark.slow
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000
#: What the page measures: the drawing's box, text boxes in the drawing's
#: units (getBBox: the font the browser really used), markers and tap areas.
MEASURE = """() => {
  const svg = document.querySelector("svg.site-map");
  const vb = svg.viewBox.baseVal;
  const all = (selector) => [...svg.querySelectorAll(selector)];
  const box = (t) => {
    const b = t.getBBox();
    return [t.textContent, b.x, b.y, b.x + b.width, b.y + b.height];
  };
  const tap = (c) => { const r = c.getBoundingClientRect(); return [r.width, r.height]; };
  const style = (e) => getComputedStyle(e).touchAction;
  return {
    view: [vb.x, vb.y, vb.width, vb.height],
    names: all("text.map-label").map(box),
    others: all("text.map-district-label, text.map-attribution, .map-scale text").map(box),
    markers: all("circle.marker").map(
      (c) => [c.cx.baseVal.value, c.cy.baseVal.value, c.r.baseVal.value]),
    taps: all(".map-hits a circle").map(tap),
    pageWidth: document.documentElement.scrollWidth,
    viewportWidth: window.innerWidth,
    touchAction: style(svg) + " " + style(svg.parentElement),
    viewportMeta: document.querySelector("meta[name=viewport]").content,
  };
}"""


def _phone(chromium: Any) -> Any:
    context = chromium.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, locale="vi-VN"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return page


def _overlap(a: list[Any], b: list[Any], slack: float = 0.5) -> bool:
    """Boxes [text, x0, y0, x1, y1] that overlap by more than ``slack``."""
    across = a[1] + slack < b[3] and b[1] + slack < a[3]
    return bool(across and a[2] + slack < b[4] and b[2] + slack < a[4])


def _check_drawing(measured: dict[str, Any]) -> None:
    x0, y0, width, height = measured["view"]
    names, others = measured["names"], measured["others"]
    assert names, "no site is named"
    for i, name in enumerate(names):
        assert x0 <= name[1], name
        assert name[3] <= x0 + width, name
        assert y0 <= name[2], name
        assert name[4] <= y0 + height, name
        for other in names[i + 1 :] + others:
            assert not _overlap(name, other), (name[0], other[0])
    for cx, cy, r in measured["markers"]:
        assert x0 + r <= cx <= x0 + width - r
        assert y0 + r <= cy <= y0 + height - r


def _site_id(conn: Any, code: str) -> int:
    return int(conn.execute("SELECT id FROM sites WHERE code = %s", (code,)).fetchone()[0])


def test_the_map_on_a_phone_shows_the_province_named_sites_and_opens_a_site(
    chromium: Any, live_url: str, db_conn: Any, clock: Clock, screenshots: Path
) -> None:
    set_states(db_conn, clock.now)
    page = _phone(chromium)
    sign_in(page, live_url, "admin")
    svg = page.locator("svg.site-map")
    assert svg.locator("path.map-province").count() == 1
    assert svg.locator("path.map-district").count() == 8
    attribution = svg.locator("text.map-attribution")
    assert attribution.text_content() == "Ranh giới: Who's On First, Natural Earth"
    assert (
        svg.locator("circle.marker").count()
        == db_conn.execute("SELECT count(*) FROM sites WHERE latitude IS NOT NULL").fetchone()[0]
    )

    measured = page.evaluate(MEASURE)
    _check_drawing(measured)
    # Tap areas: at least 40 x 40 CSS px each on the phone.
    assert measured["taps"]
    for tap_width, tap_height in measured["taps"]:
        assert tap_width >= 40
        assert tap_height >= 40
    # The page does not overflow sideways (the map scrolls in its frame),
    # nothing stops the browser's own panning and pinch-zoom.
    assert measured["pageWidth"] <= measured["viewportWidth"]
    assert "none" not in measured["touchAction"]
    assert "user-scalable=no" not in measured["viewportMeta"]
    assert "maximum-scale" not in measured["viewportMeta"]
    page.locator("figure.map").screenshot(path=screenshots / "40-map-phone-vi.png")

    # Scrolled sideways on the phone, the map keeps its place when the live
    # region is redrawn (every second in these tests).
    frame = page.locator(".map-frame")
    assert frame.evaluate("(f) => f.scrollWidth > f.clientWidth")
    redrawn = (
        "(before) => { const r = document.querySelector(\"[data-live='/live/overview']\");"
        " const at = r.getAttribute('data-live-updated'); return at !== null && at !== before; }"
    )
    page.wait_for_function(redrawn, arg="")  # the first redraw
    frame.evaluate("(f) => { f.scrollLeft = 120; }")
    stamp = page.locator("[data-live='/live/overview']").get_attribute("data-live-updated")
    page.wait_for_function(redrawn, arg=stamp)
    assert frame.evaluate("(f) => f.scrollLeft") == 120
    frame.evaluate("(f) => { f.scrollLeft = 0; }")

    # Scrolling with the finger (a wheel here) over the map scrolls the page.
    box = svg.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    before = page.evaluate("window.scrollY")
    page.mouse.wheel(0, 500)
    page.wait_for_function("(before) => window.scrollY > before", arg=before)

    # A tap beside the marker (outside its dot, inside its tap area) opens the site.
    than_uyen = _site_id(db_conn, "than-uyen")
    hit = svg.locator(f".map-hits a[href='/sites/{than_uyen}'] circle")
    hit.scroll_into_view_if_needed()
    dot = svg.locator(f"a.map-site[href='/sites/{than_uyen}'] circle.marker").bounding_box()
    assert dot is not None
    centre_x, centre_y = dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2
    page.touchscreen.tap(centre_x, centre_y + dot["height"] / 2 + 8)
    page.wait_for_url(f"{live_url}/sites/{than_uyen}")
    assert page.errors == []


def test_the_map_in_english_names_sites_in_english_without_overlap(
    chromium: Any, live_url: str, db_conn: Any, clock: Clock, screenshots: Path
) -> None:
    set_states(db_conn, clock.now)
    page = _phone(chromium)
    sign_in(page, live_url, "admin")
    page.goto(f"{live_url}/?lang=en")
    svg = page.locator("svg.site-map")
    assert svg.locator("text.map-attribution").text_content() == (
        "Boundaries: Who's On First, Natural Earth"
    )
    measured = page.evaluate(MEASURE)
    _check_drawing(measured)
    names = {name[0] for name in measured["names"]}
    assert "Lai Chau city" in names
    assert not any("Thành phố" in n for n in names)
    page.locator("figure.map").screenshot(path=screenshots / "41-map-phone-en.png")
    assert page.errors == []
