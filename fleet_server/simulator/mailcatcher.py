"""A local mail catcher for the demo: an SMTP server on 127.0.0.1 (aiosmtpd)
that accepts every notice the demo's delivery worker sends and keeps it —
readable, one after the other — in a text file the banner names. The demo
has no mail server and its duty contacts' addresses are example.invalid:
nothing leaves the machine.

aiosmtpd comes with the development extras (``./scripts/dev demo`` installs
them); without it the demo runs without the catcher and its notices stay
queued in the database, where the console shows them.
"""

from __future__ import annotations

import logging
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class MailCatcher:
    """``start()`` returns False when aiosmtpd is not installed."""

    def __init__(self, path: Path, port: int, host: str = "127.0.0.1") -> None:
        self.path = path
        self.host, self.port = host, port
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    def start(self) -> bool:
        try:
            from aiosmtpd.controller import Controller  # noqa: PLC0415 - optional
        except ImportError:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return True

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        body = mail.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        entry = (
            f"==== {mail['Date']}\n"
            f"Đến / To: {', '.join(envelope.rcpt_tos)}\n"
            f"Tiêu đề / Subject: {mail['Subject']}\n\n{text.rstrip()}\n\n"
        )
        with self._lock:
            self.messages.append(mail)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(entry)
        return "250 OK"

    def texts(self) -> list[str]:
        """Every caught message as subject and body (for tests and checks)."""
        with self._lock:
            caught = list(self.messages)
        out = []
        for mail in caught:
            body = mail.get_body(preferencelist=("plain",))
            out.append(f"{mail['Subject']}\n{body.get_content() if body is not None else ''}")
        return out
