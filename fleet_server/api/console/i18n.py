"""Every word the console shows, in Vietnamese (the operators' working
language, the default) and English.

The words are data: ``messages.toml`` next to this module holds one entry per
key with its ``vi`` and ``en`` text; this module loads it once and looks keys
up. Templates call ``t("key")``; a key missing from the table is an error, so
no page can show an untranslated string. Values of the domain (board states,
severities, roles, ticket states…) are keys too: ``t("state." + board.state)``.
The names of the content languages (``language.<code>``) come from the content
registry's own table. Times are shown in Vietnam time (UTC+7, no daylight
saving).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any

from fleet_server.content.models import LANGUAGES as CONTENT_LANGUAGES
from fleet_server.errors import ConfigError
from fleet_server.incidents.titles import RULES as RULE_NAMES
from fleet_server.localtime import LOCAL_TZ
from fleet_server.vocabulary import LANGUAGES

DEFAULT = "vi"
#: The catalog, shipped in the package (pyproject's package-data).
CATALOG = "messages.toml"

Translate = Callable[..., str]


def parse_catalog(text: str, *, source: str = CATALOG) -> dict[str, tuple[str, str]]:
    """key -> (Vietnamese, English) from the catalog's TOML text; a
    ConfigError names the entry that is not exactly a ``vi`` and an ``en``
    text, neither blank."""
    try:
        data: Mapping[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    strings: dict[str, tuple[str, str]] = {}
    for key, entry in data.items():
        if not isinstance(entry, dict) or set(entry) != set(LANGUAGES):
            raise ConfigError(f"{source}: [{key!r}] needs exactly {' and '.join(LANGUAGES)}")
        texts = tuple(entry[language] for language in LANGUAGES)
        if not all(isinstance(text, str) and text.strip() for text in texts):
            raise ConfigError(f"{source}: [{key!r}] has a blank or non-text value")
        strings[key] = (texts[0], texts[1])
    return strings


def load() -> dict[str, tuple[str, str]]:
    """The catalog with the content languages' names and the incident rules'
    names (``rule.<name>``, from ``incidents.titles.RULES``) added."""
    text = resources.files("fleet_server.api.console").joinpath(CATALOG).read_text(encoding="utf-8")
    strings = parse_catalog(text)
    for prefix, table, source in (
        ("language", CONTENT_LANGUAGES, "content.models.LANGUAGES"),
        ("rule", RULE_NAMES, "incidents.titles.RULES"),
    ):
        for code, names in table.items():
            key = f"{prefix}.{code}"
            if key in strings:
                raise ConfigError(f"{CATALOG}: [{key!r}] comes from {source}")
            strings[key] = names
    return strings


#: key -> (Vietnamese, English). ``{name}`` placeholders are filled by ``t``.
STRINGS: dict[str, tuple[str, str]] = load()


def translator(language: str) -> Translate:
    """``t(key, **values)`` in ``language``; an unknown key raises KeyError."""
    index = LANGUAGES.index(language) if language in LANGUAGES else 0

    def t(key: str, **values: object) -> str:
        text = STRINGS[key][index]
        return text.format(**values) if values else text

    return t


def local_name(language: str, name: str | None, name_en: str | None = None) -> str:
    """A place's or organisation's name in ``language``: the English one
    when reading English and there is one, else the Vietnamese."""
    return (name_en if language == "en" and name_en else name) or ""


def known(key: str) -> bool:
    return key in STRINGS


def format_time(
    value: datetime | str | None, language: str = DEFAULT, *, seconds: bool = False
) -> str:
    """Vietnam time; day/month/year in Vietnamese, ISO order in English. An
    ISO-8601 text (as stored in JSON) is read first; one that is not a time
    is shown as it is."""
    if value is None:
        return "—"
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return text
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    local = value.astimezone(LOCAL_TZ)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return local.strftime(f"{clock} %d/%m/%Y" if language == "vi" else f"%Y-%m-%d {clock}")


def format_number(value: float | int | None, language: str = DEFAULT, digits: int = 0) -> str:
    """1.234.567,5 in Vietnamese, 1,234,567.5 in English."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if language == "vi":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


def format_duration(value: timedelta | None, language: str = DEFAULT) -> str:
    """How long ago, roughly (``value`` is now minus then)."""
    t = translator(language)
    if value is None:
        return t("time.never")
    seconds = value.total_seconds()
    if seconds < 60:
        return t("time.ago_s")
    if seconds < 3600:
        return t("time.ago_m", n=int(seconds // 60))
    if seconds < 86_400:
        return t("time.ago_h", n=int(seconds // 3600))
    return t("time.ago_d", n=int(seconds // 86_400))


def format_ago(value: datetime | None, language: str = DEFAULT, now: datetime | None = None) -> str:
    """How long ago ``value`` was: "5 phút trước" (``now``: the page's clock)."""
    if value is None:
        return translator(language)("time.never")
    return format_duration((now or datetime.now(UTC)) - value, language)


def format_money(value: float | int | None, language: str = DEFAULT) -> str:
    """Đồng the Vietnamese way: "150.000 ₫" (English: "150,000 ₫")."""
    if value is None:
        return "—"
    return f"{format_number(value, language)}\u00a0₫"


def format_day(value: date | str | None, language: str = DEFAULT) -> str:
    """A calendar day: 29/11/2026 in Vietnamese, 2026-11-29 in English."""
    if value is None:
        return "—"
    if isinstance(value, str):
        text = value
        try:
            value = date.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TZ).date()
    return value.strftime("%d/%m/%Y") if language == "vi" else value.isoformat()


def humanize(code: object) -> str:
    """A code without a label, made readable: ``to-ky-thuat`` -> "to ky thuat".
    Never shown where a label exists; a fallback so no raw code leaks."""
    text = str(code)
    return " ".join(text.replace("_", " ").replace("-", " ").split()) if text else text


def label(language: str, prefix: str, value: object) -> str:
    """The label ``prefix.value`` in ``language``, else the value made readable."""
    key = f"{prefix}.{value}"
    return translator(language)(key) if key in STRINGS else humanize(value)
