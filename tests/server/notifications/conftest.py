"""Notification fixtures: a real SMTP server (aiosmtpd), a real HTTP receiver,
a controllable clock, and organisations/sites/contacts/routes in the database."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from fleet_server.notifications import Notice, NotificationSettings, SmtpSettings, Text
from fleet_server.notifications.models import OutboxRow, OutgoingMessage, Transport
from fleet_server.notifications.templates import render
from fleet_server.notifications.worker import NotificationWorker
from fleet_server.vocabulary import Language
from tests.support import seed
from tests.support.clock import Clock
from tests.support.ports import free_port

Conn = psycopg.Connection[tuple[Any, ...]]
START = datetime(2025, 5, 20, 0, 30, tzinfo=UTC)  # 07:30 in Lai Châu


class SmtpSink:
    """An aiosmtpd server on a fixed port that keeps what it receives; it can be
    stopped and started again on the same port (a new Controller each time)."""

    def __init__(
        self,
        credentials: tuple[str, str] | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.port = free_port()
        self.credentials = credentials
        self.tls = tls  # STARTTLS required, or TLS from the start with implicit_tls
        self.implicit_tls = implicit_tls
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str | None, list[str]]] = []
        self.refuse: set[str] = set()  # recipients answered with 550
        self.fail_next = 0  # DATA answered 451 (try again later) this many times
        self.hold: threading.Event | None = None  # DATA is answered once this is set
        self.data_started = threading.Event()  # a client has sent DATA
        self._controller: Controller | None = None

    async def handle_RCPT(  # noqa: N802 - the hook name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - the hook name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.data_started.set()
        if self.hold is not None:  # a slow server: the client waits for the answer
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 30)
        if self.fail_next > 0:
            self.fail_next -= 1
            return "451 4.3.0 Try again later"
        data = envelope.original_content or b""
        self.raw.append(data)
        parsed = BytesParser(policy=policy.default).parsebytes(data)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK queued"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.credentials is not None
            and (data.login.decode(), data.password.decode()) == self.credentials
        )
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535

    def start(self) -> None:
        auth: dict[str, Any] = {}
        if self.credentials is not None:
            auth = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        if self.tls is not None and self.implicit_tls:
            auth["ssl_context"] = self.tls
        elif self.tls is not None:
            auth.update(tls_context=self.tls, require_starttls=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **auth)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value


@dataclass(slots=True)
class WebhookReceiver:
    """A real HTTP server in a thread; answers with ``statuses`` in turn, then 200."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    always: int = 200
    requests: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/fleet?src=laichau"


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            status = receiver.statuses.pop(0) if receiver.statuses else receiver.always
            answer = b"ok" if status < 300 else b"receiver broken"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 (openssl CLI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    base = tmp_path_factory.mktemp("tls")
    files = TlsFiles(base / "cert.pem", base / "key.pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(files.key), "-out", str(files.cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return files


@pytest.fixture
def clock() -> Clock:
    """The worker's and enqueue's notion of now, moved by the test."""
    return Clock(START)


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(5)


def notification_settings(smtp_port: int, **overrides: Any) -> NotificationSettings:
    smtp_values: dict[str, Any] = {
        "from_address": "canh-bao@bangtin.laichau.gov.vn",
        "host": "127.0.0.1",
        "port": smtp_port,
        "security": "none",
        "timeout_s": 5.0,
    }
    smtp_values.update(overrides.pop("smtp", {}))
    values: dict[str, Any] = {
        "webhook_timeout_s": 5.0,
        "group_window_s": 0.0,
        "retry_base_s": 10.0,
        "retry_cap_s": 60.0,
        "max_age_s": 3600.0,
        "batch_size": 50,
    }
    values.update(overrides)
    return NotificationSettings(smtp=SmtpSettings(**smtp_values), **values)


MakeWorker = Callable[..., NotificationWorker]


class WorkerDied(BaseException):
    """The worker's process ended here (killed between the receiver's answer
    and the commit of the "sent" mark); not an Exception, so nothing catches it."""


@dataclass(frozen=True, slots=True)
class DiesAfterHandOver:
    """A transport that hands the message over for real, then the worker dies."""

    inner: Transport

    def send(self, message: OutgoingMessage) -> str:
        self.inner.send(message)
        raise WorkerDied


@pytest.fixture
def make_worker(db_url: str, smtp_server: SmtpSink, clock: Clock) -> Iterator[MakeWorker]:
    workers: list[NotificationWorker] = []

    def make(**overrides: Any) -> NotificationWorker:
        worker_id = overrides.pop("worker_id", f"test-worker-{len(workers)}")
        worker = NotificationWorker(
            db_url,
            notification_settings(smtp_server.port, **overrides),
            clock=clock,
            worker_id=worker_id,
        )
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()


# --- database contents -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fleet:
    """Ids of the organisations and sites seeded for a test."""

    so_tttt: int  # Department of Information and Communications
    bql_kkt: int  # Economic Zone Management Board (border-gate boards)
    bdbp: int  # Border Guard command
    ubnd_sin_ho: int  # a district People's Committee
    ma_lu_thang: int  # border-gate site
    sin_ho: int  # district-centre site


def _insert_id(db: Conn, query: str, params: tuple[Any, ...]) -> int:
    row = db.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def fleet(db: Conn) -> Fleet:
    so_tttt = seed.organisation(
        db,
        "so-tttt",
        "Sở Thông tin và Truyền thông tỉnh Lai Châu",
        kind="provincial_department",
    )
    bql = seed.organisation(
        db, "bql-kkt", "Ban Quản lý Khu kinh tế tỉnh Lai Châu", kind="economic_zone_board"
    )
    bdbp = seed.organisation(
        db, "bdbp", "Bộ Chỉ huy Bộ đội Biên phòng tỉnh Lai Châu", kind="border_guard"
    )
    sin_ho_org = seed.organisation(
        db, "ubnd-sin-ho", "UBND huyện Sìn Hồ", kind="district_committee"
    )
    mlt = seed.site(
        db,
        "ma-lu-thang",
        bql,
        name="Cửa khẩu quốc tế Ma Lù Thàng",
        name_en="Ma Lu Thang International Border Gate",
        kind="border_gate",
        camera_guard=bdbp,
    )
    sin_ho = seed.site(
        db, "sin-ho", sin_ho_org, name="Trung tâm huyện Sìn Hồ", kind="district_centre"
    )
    return Fleet(so_tttt, bql, bdbp, sin_ho_org, mlt, sin_ho)


def add_contact(
    db: Conn,
    name: str,
    *,
    email: str | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    language: str = "vi",
    organisation_id: int | None = None,
    kind: str = "person",
) -> int:
    return _insert_id(
        db,
        """INSERT INTO contacts
               (name, email, webhook_url, webhook_secret, language, organisation_id, kind)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (name, email, webhook_url, webhook_secret, language, organisation_id, kind),
    )


def add_route(
    db: Conn,
    contact_id: int,
    *,
    channel: str = "email",
    organisation_id: int | None = None,
    site_id: int | None = None,
    incident_class: str | None = None,
    incident_kinds: list[str] | None = None,
    min_severity: str = "warning",
    escalation_level: int = 0,
) -> int:
    return _insert_id(
        db,
        """INSERT INTO notification_routes
               (contact_id, channel, organisation_id, site_id, incident_class, incident_kinds,
                min_severity, escalation_level)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            contact_id,
            channel,
            organisation_id,
            site_id,
            incident_class,
            incident_kinds,
            min_severity,
            escalation_level,
        ),
    )


def outbox(db: Conn, columns: str = "id, state, attempts") -> list[tuple[Any, ...]]:
    return db.execute(f"SELECT {columns} FROM notification_outbox ORDER BY id").fetchall()


def deliveries(db: Conn, outbox_id: int) -> list[tuple[bool, str | None]]:
    rows = db.execute(
        "SELECT ok, error FROM notification_deliveries WHERE outbox_id = %s ORDER BY id",
        (outbox_id,),
    ).fetchall()
    return [(bool(ok), error) for ok, error in rows]


MLT_NAME = Text("Cửa khẩu quốc tế Ma Lù Thàng", "Ma Lu Thang International Border Gate")


def make_notice(fleet: Fleet, at: datetime, **overrides: Any) -> Notice:
    """Mains lost at Ma Lù Thàng, unless ``overrides`` say otherwise."""
    values: dict[str, Any] = {
        "kind": "incident_opened",
        "severity": "critical",
        "title": Text("Mất điện lưới, bảng tin chạy bằng UPS", "Mains lost, board on UPS"),
        "occurred_at": at,
        "organisation_id": fleet.bql_kkt,
        "site_id": fleet.ma_lu_thang,
        "site_name": MLT_NAME,
        "board_id": "lc-mlt-01",
        "board_name": "Bảng tin cổng A",
        "incident_id": 42,
        "incident_class": "technical",
        "incident_kind": "mains_lost",
        "summary": Text(
            "Bảng tin mất điện lưới, pin UPS còn 80%.", "The board lost mains power; UPS at 80%."
        ),
        "details": {"battery_percent": 80, "runtime_s": 2400},
    }
    values.update(overrides)
    return Notice(**values)


def technician(db: Conn, fleet: Fleet) -> int:
    """A technician of the Economic Zone Board with an e-mail route."""
    contact = add_contact(db, "Nguyễn Văn An", email="an@bql.laichau.gov.vn")
    add_route(db, contact, organisation_id=fleet.bql_kkt)
    return contact


def outbox_row(notice: Notice, language: Language = "vi", row_id: int = 1) -> OutboxRow:
    """``notice`` rendered in ``language`` and queued by e-mail for the
    technicians' desk, as the worker claims it (for rendering tests)."""
    rendered = render(notice, language)
    return OutboxRow(
        id=row_id,
        idempotency_key=str(row_id),
        channel="email",
        contact_id=1,
        language=language,
        subject=rendered.subject,
        body_text=rendered.body_text,
        payload=notice.to_payload(),
        group_key=f"site:{notice.site_id}",
        available_at=notice.occurred_at,
        attempts=0,
        contact_name="Tổ kỹ thuật",
        contact_active=True,
        email="kythuat@example.vn",
        webhook_url=None,
        webhook_secret=None,
    )
