"""The edge agent that runs on every board controller."""

from pathlib import Path


def _version(default: str) -> str:
    """The bundle's ``VERSION`` when running from a release bundle
    (``<release>/lib/edge_agent``), the package's version otherwise."""
    lib = Path(__file__).resolve().parent.parent
    if lib.name != "lib":
        return default
    try:
        text = (lib.parent / "VERSION").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return default
    return text or default


__version__ = _version("0.1.0")
