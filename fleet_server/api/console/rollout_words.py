"""The reasons the rollout engine gives (fleet_server/rollouts/job.py, in
English, as the API shows them) in the reader's language for the console.
A reason the board wrote itself (a download that failed, a crash loop) is
shown as the board wrote it."""

from __future__ import annotations

import re
from collections.abc import Callable

from fleet_server.api.console import i18n

_Words = Callable[[re.Match[str], i18n.Translate, str], str]

_REASONS: tuple[tuple[re.Pattern[str], _Words], ...] = (
    (
        re.compile(r"(\w+) broadcast window (\d\d:\d\d)-(\d\d:\d\d) on air or about to start"),
        lambda m, t, lang: t(
            "rollout_reason.window",
            part=i18n.label(lang, "part", m[1]),
            start=m[2],
            end=m[3],
        ),
    ),
    (
        re.compile(r"maintenance window on the board or its site"),
        lambda m, t, lang: t("rollout_reason.maintenance"),
    ),
    (
        re.compile(r"rollout (\d+) is updating this board"),
        lambda m, t, lang: t("rollout_reason.busy", n=m[1]),
    ),
    (re.compile(r"board disabled"), lambda m, t, lang: t("rollout_reason.disabled")),
    (
        re.compile(r"board disabled during its update"),
        lambda m, t, lang: t("rollout_reason.disabled_updating"),
    ),
    (
        re.compile(r"reported healthy, but its agent runs (.+)"),
        lambda m, t, lang: t("rollout_reason.other_version", version=m[1]),
    ),
    (re.compile(r"board no longer exists"), lambda m, t, lang: t("rollout_reason.gone")),
    (
        re.compile(r"rollout (aborted|cancelled)"),
        lambda m, t, lang: t("rollout_reason.ended", state=i18n.label(lang, "rollout_state", m[1])),
    ),
    (re.compile(r"already running this version"), lambda m, t, lang: t("rollout_reason.already")),
    (
        re.compile(r"not reported healthy within (\d+) s of the switch"),
        lambda m, t, lang: t("rollout_reason.not_healthy", n=m[1]),
    ),
    (
        re.compile(r"no answer before the update command expired.*"),
        lambda m, t, lang: t("rollout_reason.expired"),
    ),
    (
        re.compile(r"no progress reported within (\d+) s"),
        lambda m, t, lang: t("rollout_reason.silent", n=m[1]),
    ),
    (
        re.compile(r"(\d+) failures of (\d+) boards tried exceed the threshold of (\d+) boards"),
        lambda m, t, lang: t("rollout_reason.threshold_count", n=m[1], tried=m[2], limit=m[3]),
    ),
    (
        re.compile(
            r"(\d+) failures of (\d+) boards tried exceed the threshold of ([\d.]+) % of the"
            r" boards tried"
        ),
        lambda m, t, lang: t("rollout_reason.threshold_percent", n=m[1], tried=m[2], limit=m[3]),
    ),
)


def reason_words(reason: str | None, lang: str) -> str | None:
    """``reason`` in ``lang`` when the engine wrote it, else as it is."""
    if reason is None:
        return None
    t = i18n.translator(lang)
    for pattern, words in _REASONS:
        match = pattern.fullmatch(reason)
        if match:
            return words(match, t, lang)
    return reason
