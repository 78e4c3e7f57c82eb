"""The console's words are catalog data (messages.toml): loaded once, every
entry a Vietnamese and an English text, shipped in the package."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from fleet_server.api.console import i18n
from fleet_server.content.models import LANGUAGES as CONTENT_LANGUAGES
from fleet_server.errors import ConfigError

ROOT = Path(__file__).resolve().parents[4]


def test_the_catalog_is_read_in_its_order_with_both_languages() -> None:
    strings = i18n.parse_catalog('["a.b"]\nvi = "Xin chào {name}"\nen = "Hello {name}"\n')
    assert strings == {"a.b": ("Xin chào {name}", "Hello {name}")}
    assert next(iter(i18n.STRINGS)) == "app.name"
    assert i18n.translator("en")("list.range", first=1, last=2, total=3) == "1–2 of 3"
    assert i18n.translator("vi")("list.range", first=1, last=2, total=3) == "1–2 trong 3"


@pytest.mark.parametrize(
    "text",
    [
        '["a.b"]\nvi = "Xin chào"\n',  # no English
        '["a.b"]\nvi = "Xin chào"\nen = "Hello"\nfr = "Bonjour"\n',  # a third language
        '["a.b"]\nvi = "Xin chào"\nen = "  "\n',  # blank
        '["a.b"]\nvi = "Xin chào"\nen = 3\n',  # not text
        '"a.b" = "Hello"\n',  # not an entry
        '["a.b"]\nvi = "Xin chào"\nen = "Hello"\n["a.b"]\nvi = "x"\nen = "y"\n',  # twice
    ],
)
def test_a_bad_entry_is_refused_when_the_catalog_is_read(text: str) -> None:
    with pytest.raises(ConfigError):
        i18n.parse_catalog(text)


def test_content_language_names_come_from_the_content_registry() -> None:
    for code, names in CONTENT_LANGUAGES.items():
        assert i18n.STRINGS[f"language.{code}"] == names
    catalog = tomllib.loads((ROOT / "fleet_server/api/console/messages.toml").read_text("utf-8"))
    assert not [key for key in catalog if key.startswith("language.")]


def test_the_catalog_ships_in_the_package() -> None:
    """An installed wheel must hold messages.toml (pyproject's package-data)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["fleet_server"]
    assert any(fnmatch("api/console/" + i18n.CATALOG, p) for p in patterns)
