"""E-mail transport: one SMTP session per message, smtplib errors translated here.

The Message-ID comes from the outbox row, so a retry of a message whose first
attempt did reach the server (connection lost before the answer) carries the
same Message-ID and mail clients can tell it is a duplicate.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from fleet_server.notifications.models import DeliveryError, OutgoingMessage, SmtpSettings

log = logging.getLogger(__name__)


class SmtpTransport:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """The e-mail for ``message``: UTF-8 text, quoted-printable (7-bit safe)."""
        mail = EmailMessage(policy=SMTP_POLICY)
        try:
            mail["From"] = Address(self.settings.from_name, addr_spec=self.settings.from_address)
            mail["To"] = Address(message.contact_name, addr_spec=message.address)
        except (ValueError, IndexError) as exc:
            raise DeliveryError(f"bad e-mail address {message.address!r}", permanent=True) from exc
        # Encoded here, spaces inside the encoded words: the policy's own
        # folding of a long UTF-8 subject breaks it at a space between two
        # encoded words and so drops the space ("Cửa khẩuquốc tế").
        mail.set_raw("Subject", Header(message.subject, "utf-8", header_name="Subject").encode())
        mail["Date"] = format_datetime(message.sent_at)
        mail["Message-ID"] = f"<{message.message_id}>"
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Fleet-Outbox-Ids"] = ",".join(str(i) for i in message.outbox_ids)
        mail.set_content(message.body_text, charset="utf-8", cte="quoted-printable")
        mail["Content-Language"] = message.language  # after set_content, which clears Content-*
        return mail

    def send(self, message: OutgoingMessage) -> str:
        data = self.build(message).as_bytes()
        try:
            client = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {self._where()}: cannot connect: {exc}") from exc
        try:
            self._secure_and_login(client)
            return self._transaction(client, message.address, data)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"SMTP recipient refused: {exc.recipients}", permanent=all(c >= 500 for c in codes)
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {self._where()}: {exc}") from exc
        finally:
            _quit(client)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=self._tls())
        return smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)

    def _secure_and_login(self, client: smtplib.SMTP) -> None:
        s = self.settings
        if s.security == "starttls":
            client.starttls(context=self._tls())
        if s.username is not None and s.password is not None:
            client.login(s.username, s.password)

    def _transaction(self, client: smtplib.SMTP, to: str, data: bytes) -> str:
        # mail/rcpt/data by hand rather than send_message: the answer to DATA
        # is what we keep as the delivery's response.
        client.ehlo_or_helo_if_needed()
        code, reply = client.mail(self.settings.from_address)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, self.settings.from_address)
        code, reply = client.rcpt(to)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
        code, reply = client.data(data)
        if code != 250:  # smtplib raises for the DATA command, not for the answer to the message
            raise smtplib.SMTPDataError(code, reply)
        return f"SMTP {code} {_text(reply)}"

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file)

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"


def _quit(client: smtplib.SMTP) -> None:
    # After DATA was accepted, a failing QUIT must not turn a delivered message
    # into a failed attempt (and a duplicate on retry).
    try:
        client.quit()
    except (smtplib.SMTPException, OSError) as exc:
        log.debug("SMTP QUIT failed: %s", exc)
        client.close()


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())[:300]
