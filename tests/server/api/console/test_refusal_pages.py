"""Every console form, each field in turn given a value it refuses (words
where a number, a day or a choice goes; nothing at all): the page that
comes back says why in the reader's language, from the catalogue, names
the field by a label of the catalogue and marks its box. The walkthrough
found "not a date", "the two passwords differ", "line 1 needs an id and a
name" in English on Vietnamese pages. The reasons themselves, one by one:
test_refusal_words.py."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import cache

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleet_server.api.console import i18n
from tests.server.api.console.conftest import csrf_of
from tests.server.api.console.test_form_refusals import (  # noqa: F401  (words: a fixture)
    BOX,
    _form,
    _posts,
    words,
)

NewBrowser = Callable[..., TestClient]
#: A value each kind of field refuses: words where a number, a day, a time
#: or a choice is wanted; nothing where something is wanted.
REFUSED = ("không phải số", "")
REFUSAL = re.compile(
    r'<div class="flash error refusal"[^>]*data-error="([^"]*)"[^>]*>(.*?)</div>', re.S
)
REASON = re.compile(r'<span class="reason">(.*?)</span>', re.S)
FIELD = re.compile(r'<span data-field="[^"]*">(.*?)</span>', re.S)


@cache
def _catalogue(language: str) -> tuple[re.Pattern[str], ...]:
    """Each catalogue text in ``language`` as a pattern, its values any text."""
    index = ("vi", "en").index(language)  # i18n.STRINGS: (Vietnamese, English)
    patterns = []
    for texts in i18n.STRINGS.values():
        parts = re.split(r"\{\w+\}", texts[index])
        if len(parts) > 1 and len(re.findall(r"\w", "".join(parts))) < 4:
            continue  # values and a colon ("{category}: {amount}") say anything
        patterns.append(re.compile(".+?".join(re.escape(p) for p in parts), re.S))
    return tuple(patterns)


def catalogued(text: str, language: str) -> bool:
    """``text`` is a catalogue text in ``language`` (values filled in)."""
    return any(p.fullmatch(text) for p in _catalogue(language))


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def _marked(page: str, field: str) -> bool:
    """The box of ``field`` carries aria-invalid. Not asked of what is not
    a box typed into or chosen from (a hidden value, a button, a tick box:
    the refusal names those), nor of a name several forms of the page
    share (each rule's target: the refusal sits by its own form)."""
    head = field.split(".", maxsplit=1)[0]
    boxes = [b.group(0) for b in BOX.finditer(page) if b.group("name") in (field, head)]
    kinds = ('type="hidden"', 'type="checkbox"', 'type="radio"', 'type="submit"')
    boxes = [b for b in boxes if not any(kind in b for kind in kinds)]
    return len(boxes) != 1 or "aria-invalid" in boxes[0]


def _problems(page: str, language: str) -> list[str]:
    """What is wrong with a refusal shown beside its form (nothing: [])."""
    found = REFUSAL.search(page)
    if found is None:
        return []
    field, body = found.group(1), found.group(2)
    problems = []
    reason = REASON.search(body)
    said = _plain(reason.group(1)) if reason else ""
    if not catalogued(said, language):
        problems.append(f"reason not from the catalogue: {said!r}")
    named = FIELD.search(body)
    if named:
        t = i18n.translator(language)
        label = _plain(named.group(1))
        for key in ("admin.refused_entry", "admin.refused_field"):
            pattern = re.escape(t(key, field="\x00", n="\x01"))
            pattern = pattern.replace("\x00", "(?P<f>.+?)").replace("\x01", r"\d+")
            hit = re.fullmatch(pattern, label)
            if hit:
                if not catalogued(hit.group("f"), language):
                    problems.append(f"field named outside the catalogue: {hit.group('f')!r}")
                break
    if field and field != "form" and not _marked(page, field):
        problems.append(f"{field} not marked")
    return problems


def _tried(
    app: FastAPI, browser: TestClient, ids: dict[str, str], language: str
) -> tuple[int, list[str]]:
    """(refusals read, what is wrong with them)."""
    csrf = csrf_of(browser.get(f"/tickets/new?lang={language}").text)
    read, failures = 0, []
    for pattern, path, route in _posts(app, ids):
        for param in route.dependant.body_params:
            listed = "list[" in str(param.field_info.annotation)
            for typed in REFUSED:
                data = _form(pattern, route, param.alias, typed, listed)
                answer = browser.post(path, data={"csrf_token": csrf, **data})
                if answer.status_code < 400 or "flash error refusal" not in answer.text:
                    continue
                read += 1
                for problem in _problems(answer.text, language):
                    failures.append(f"{path} {param.alias}={typed!r}: {problem}")
    return read, failures


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_form_refuses_in_the_readers_words_with_the_field_marked(
    app: FastAPI,
    new_browser: NewBrowser,
    words: dict[str, str],  # noqa: F811
    language: str,
) -> None:
    read, failures = _tried(app, new_browser("admin"), words, language)
    assert read >= 100  # the forms were reached
    assert not failures, "\n".join(sorted(set(failures)))


def test_the_check_catches_an_english_reason_and_an_unmarked_field() -> None:
    page = (
        '<div class="flash error refusal" role="alert" data-error="installed_on">'
        '<strong>Chưa lưu.</strong><span class="reason">not a date</span></div>'
        '<input type="date" name="installed_on" value="x">'
    )
    assert _problems(page, "vi") == [
        "reason not from the catalogue: 'not a date'",
        "installed_on not marked",
    ]
    worded = page.replace("not a date", i18n.translator("vi")("refusal.day"))
    worded = worded.replace('name="installed_on"', 'name="installed_on" aria-invalid="true"')
    assert _problems(worded, "vi") == []
    assert not catalogued("the two passwords differ", "vi")
    assert catalogued(i18n.translator("en")("refusal.camera_line", line=3), "en")
