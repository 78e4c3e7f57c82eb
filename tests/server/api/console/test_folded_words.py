"""The fixed words folded into the templates at compile time
(``console/folded_words.py``) render exactly as the runtime ``t`` would."""

from __future__ import annotations

import pytest
from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

from fleet_server.api.console import folded_words, i18n, web
from fleet_server.vocabulary import LANGUAGES


def _env(language: str, templates: dict[str, str]) -> Environment:
    env = Environment(
        loader=DictLoader(templates),
        extensions=[folded_words.FoldedWords],
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )
    env.words_language = language  # type: ignore[attr-defined]
    return env


def test_a_literal_key_without_values_is_folded_and_the_rest_left_as_calls() -> None:
    source = (
        '{{ t("nav.logout") }}|{{ t(\'nav.logout\') }}|{{ t("time.ago_m", n=3) }}'
        '|{{ t("state." + s) }}|{{ x.t("nav.logout") }}|{{ format("nav.logout") }}'
    )
    folded = folded_words.fold(source, "en")
    logout = folded_words.jinja_string(i18n.STRINGS["nav.logout"][1])
    assert folded.count(logout) == 2
    assert 't("time.ago_m", n=3)' in folded
    assert 't("state." + s)' in folded
    assert 'x.t("nav.logout")' in folded
    assert 'format("nav.logout")' in folded


def test_an_unknown_literal_key_fails_the_compilation() -> None:
    env = _env("vi", {"page.html": '{{ t("no.such.key") }}'})
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        env.get_template("page.html")


@pytest.mark.parametrize("language", LANGUAGES)
def test_folded_words_render_as_the_runtime_call_does(
    language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # words with a quote, a backslash, markup and a placeholder: escaped
    # once, as a value, and the placeholder kept when no value is given
    tricky = {
        "test.quote": ('Chữ "trích" \\ <b>đậm</b>', 'Say "hi" \\ <b>bold</b>'),
        "test.braces": ("{n} bảng }} {% x %}", "{n} boards }} {% x %}"),
    }
    monkeypatch.setattr(i18n, "STRINGS", {**i18n.STRINGS, **tricky})
    source = (
        '<p title="{{ t("test.quote") }}">{{ t("test.quote") }}</p>'
        '{{ t("test.braces") }}{{ t("nav.logout") | upper }}'
        '{% set label = t("nav.logout") %}{{ label }}{{ t("time.ago_m", n=2) }}'
    )
    folded = _env(language, {"p.html": source}).get_template("p.html")
    runtime = Environment(
        loader=DictLoader({"p.html": source}), autoescape=select_autoescape(["html"])
    ).get_template("p.html")
    values = {"t": i18n.translator(language)}
    assert folded.render(values) == runtime.render(values)
    assert "&lt;b&gt;" in folded.render(values)


def test_each_language_has_its_own_compiled_templates() -> None:
    web.compile_templates()
    for language in LANGUAGES:
        source, _, _ = web.ENVS[language].loader.get_source(  # type: ignore[union-attr]
            web.ENVS[language], "base.html"
        )
        assert 't("nav.logout")' in source  # the file itself is unchanged
        compiled = {key[1] for key in web.ENVS[language].cache}  # type: ignore[union-attr]
        assert "base.html" in compiled
    vi = web.ENVS["vi"].get_template("_cursor_pager.html")
    en = web.ENVS["en"].get_template("_cursor_pager.html")
    assert vi is not en
