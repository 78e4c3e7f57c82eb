"""The broker and CA side of provisioning: the broker admin session, a board's
broker account, its certificates, the one-time credentials bundle, and
undoing a broker step when the database change fails (provisioning/service.py
runs them inside its transactions)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from fleet_server.broker.acls import board_role_name
from fleet_server.broker.ca import IssuedCertificate
from fleet_server.broker.errors import DynsecError, DynsecTimeout
from fleet_server.broker.pki import CAError
from fleet_server.errors import BrokerUnavailable
from fleet_server.provisioning.agent_toml import render_agent_toml
from fleet_server.provisioning.backend import BrokerAdmin, ProvisioningBackend
from fleet_server.provisioning.models import (
    Auth,
    BoardBundle,
    BoardRecord,
    CameraSpec,
    ProvisioningError,
)

log = logging.getLogger(__name__)

CRL_RELOAD_NOTE = (
    "Mosquitto reads the CRL only at start and on SIGHUP: run `systemctl reload mosquitto`"
    " on the broker host; until then the revoked certificate is still accepted, and a"
    " connection already open stays until the board reconnects (disable the board to drop it"
    " at once)"
)


def new_password() -> str:
    """192 random bits, URL-safe (32 characters)."""
    return secrets.token_urlsafe(24)


@contextmanager
def broker_errors(what: str) -> Iterator[None]:
    """The broker's errors as ProvisioningError: refused (the broker said no)
    or unavailable (no answer, no connection)."""
    try:
        yield
    except DynsecTimeout as exc:
        raise ProvisioningError("broker_unavailable", f"{what}: {exc}") from None
    except DynsecError as exc:
        raise ProvisioningError("broker_refused", f"{what}: {exc}") from None
    except BrokerUnavailable as exc:
        raise ProvisioningError("broker_unavailable", f"{what}: {exc}") from None


class Session:
    """The broker admin session, opened on first use (after the database
    checks, so bad input is refused even when the broker is away)."""

    def __init__(
        self, backend: ProvisioningBackend, given: BrokerAdmin | None, stack: ExitStack
    ) -> None:
        self._backend = backend
        self._admin = given
        self._stack = stack

    @property
    def admin(self) -> BrokerAdmin:
        if self._admin is None:
            self._admin = self._stack.enter_context(self._backend.broker())
        return self._admin


def check_account(admin: BrokerAdmin, board_id: str) -> dict[str, Any] | None:
    """The broker's account of that name; refuses one that is not a board's."""
    with broker_errors(f"reading the broker account {board_id}"):
        client = admin.get_client(board_id)
    if client is not None:
        roles = {str(r.get("rolename")) for r in client.get("roles", [])}
        if roles - {board_role_name(board_id)}:
            raise ProvisioningError(
                "broker_refused",
                f"the broker account {board_id!r} exists and is not a board's"
                f" (roles {sorted(roles)}); choose another id",
            )
    return client


def undo(what: str, board_id: str, step: Callable[[], object]) -> str | None:
    """Run a compensating broker step; its failure is logged and returned."""
    try:
        step()
    except Exception as exc:  # the original error is what the caller sees
        log.error("could not undo %s for board %s: %s", what, board_id, exc)
        return f"undoing {what} in the broker failed too ({exc})"
    log.warning("undid %s for board %s in the broker", what, board_id)
    return None


def add_note(exc: BaseException, note: str) -> None:
    """Say what the failure left behind: in the ProvisioningError's detail
    (what the API and CLI show) or as an exception note."""
    if isinstance(exc, ProvisioningError):
        exc.detail = f"{exc.detail} ({note})"
        exc.args = (exc.detail,)
    else:
        exc.add_note(note)


def issue(backend: ProvisioningBackend, board_id: str) -> IssuedCertificate:
    try:
        return backend.ca().issue_board_certificate(board_id)
    except CAError as exc:
        raise ProvisioningError("ca_refused", str(exc)) from None


def revoke_serial(backend: ProvisioningBackend, serial: int) -> None:
    try:
        backend.ca().revoke(serial)
    except (CAError, ProvisioningError, OSError) as exc:
        log.error("could not revoke the unused certificate %x: %s", serial, exc)


def revoke_others(backend: ProvisioningBackend, board: BoardRecord, keep: int | None) -> list[str]:
    """Revoke every certificate of the board but ``keep``; notes for the caller."""
    if backend.ca_dir is None:
        if board.cert_serial is not None:
            return [
                f"certificate {board.cert_serial} not revoked: no provisioning CA configured"
                " (FLEET_PROVISIONING_CA_DIR)"
            ]
        return []
    try:
        ca = backend.ca()
        serials = [
            r.serial
            for r in ca.certificates(board.id)
            if r.kind == "board" and not r.revoked and r.serial != keep
        ]
        for serial in serials:
            ca.revoke(serial)
    except (CAError, ProvisioningError, OSError) as exc:
        log.error("could not revoke the certificates of board %s: %s", board.id, exc)
        return [
            f"revoking the old certificates of {board.id} failed ({exc}): run the command again"
        ]
    if not serials:
        return []
    listed = ", ".join(f"{s:x}" for s in serials)
    return [f"certificate(s) {listed} revoked in the CRL. {CRL_RELOAD_NOTE}"]


def bundle(
    board: BoardRecord,
    *,
    board_name: str,
    cameras: tuple[CameraSpec, ...],
    auth: Auth,
    mqtt_url: str,
    ca_pem: str | None,
    password: str | None,
    issued: IssuedCertificate | None,
    board_dir: PurePosixPath,
    now: datetime,
) -> BoardBundle:
    """The one-time credentials and the board's agent.toml."""
    toml = render_agent_toml(
        board_id=board.id,
        board_name=board_name,
        site_code=board.site_code,
        auth=auth,
        mqtt_url=mqtt_url,
        board_dir=board_dir,
        with_ca=ca_pem is not None,
        cameras=cameras,
        generated_at=now,
    )
    return BoardBundle(
        board_id=board.id,
        auth=auth,
        mqtt_url=mqtt_url,
        agent_toml=toml,
        ca_pem=ca_pem,
        password=password,
        certificate_pem=issued.certificate_pem.decode() if issued else None,
        private_key_pem=issued.private_key_pem.decode() if issued else None,
        cert_serial=issued.serial_hex if issued else None,
        cert_not_after=issued.not_after if issued else None,
    )
