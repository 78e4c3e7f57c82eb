"""The console's fixed words folded into its templates when they are compiled.

A template calls ``t("key")`` for each word it shows (``i18n``). Jinja
compiles every such call into a call through its runtime context, made at
each render: ~7 µs each on these 2-core machines, and a list page makes
several hundred of them (each row repeats its columns' labels for phones).
The text of a key named literally, without values, cannot change while the
process runs, so each language has its own environment (``web.ENVS``) whose
templates have those words folded in at compile time: in the Vietnamese
environment ``t("nav.logout")`` is compiled as the string "Đăng xuất", then
escaped like any other value. A call with values (``t("x", n=3)``) or with a
computed key (``t("state." + s)``) stays a call. An unknown key named
literally fails the template's compilation, and every template is compiled
at start-up (``web.compile_templates``).
"""

from __future__ import annotations

import re

from jinja2 import Environment
from jinja2.ext import Extension

from fleet_server.api.console import i18n
from fleet_server.vocabulary import LANGUAGES

#: ``t("key")`` or ``t('key')``, not ``x.t(…)`` or ``format(…)``, no values.
LITERAL_CALL = re.compile(r"""(?<![\w.])t\((["'])([\w.\-]+)\1\)""")


def jinja_string(text: str) -> str:
    """``text`` as a Jinja string literal (its lexer reads Python's escapes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fold(source: str, language: str) -> str:
    """``source`` with each ``t("key")`` replaced by the key's text in
    ``language``; KeyError for a key the catalogue does not have."""
    index = LANGUAGES.index(language)

    def text(match: re.Match[str]) -> str:
        key = match.group(2)
        if key not in i18n.STRINGS:
            raise KeyError(f"no message {key!r} in messages.toml")
        return jinja_string(i18n.STRINGS[key][index])

    return LITERAL_CALL.sub(text, source)


class FoldedWords(Extension):
    """Folds the fixed words of ``environment.words_language`` (default
    Vietnamese) into each template's source before it is compiled."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.extend(words_language=i18n.DEFAULT)

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return fold(source, self.environment.words_language)  # type: ignore[attr-defined]
