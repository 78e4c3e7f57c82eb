"""Live account management in Mosquitto through its dynamic-security plugin.

The fleet's operations on accounts and roles (boards, the server, the
admin), over the plugin's connection (``dynsec_connection.py``).

The ACL model: ``broker/acls.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fleet_server.broker.acls import (
    DEFAULT_ACL_ACCESS,
    SERVER_ROLE,
    Acl,
    board_acls,
    board_role_name,
    check_board_id,
    server_acls,
)
from fleet_server.broker.dynsec_connection import DynsecConnection
from fleet_server.broker.errors import DynsecError

log = logging.getLogger(__name__)


class DynsecClient(DynsecConnection):
    """A connection to Mosquitto as the dynamic-security admin, with the
    fleet's account operations.

    ``with DynsecClient(...) as dynsec: dynsec.ensure_board("lc-mlt-01", password)``.
    """

    def get_client(self, username: str) -> dict[str, Any] | None:
        """The plugin's record of an account (username, clientid, disabled,
        roles, groups), or None when it does not exist."""
        answer = self.execute([{"command": "getClient", "username": username}], check=False)[0]
        if answer.get("error") == "Client not found":
            return None
        if answer.get("error"):
            raise DynsecError("getClient", str(answer["error"]), username)
        client = answer.get("data", {}).get("client")
        return client if isinstance(client, dict) else None

    def get_role(self, rolename: str) -> dict[str, Any] | None:
        answer = self.execute([{"command": "getRole", "rolename": rolename}], check=False)[0]
        if answer.get("error") == "Role not found":
            return None
        if answer.get("error"):
            raise DynsecError("getRole", str(answer["error"]), rolename)
        role = answer.get("data", {}).get("role")
        return role if isinstance(role, dict) else None

    def list_clients(self) -> list[str]:
        """Every account name (in pages of 1000)."""
        names: list[str] = []
        while True:
            data = self.command("listClients", verbose=False, count=1000, offset=len(names))
            page = [str(c) for c in data.get("clients", [])]
            names += page
            if len(page) < 1000 or len(names) >= int(data.get("totalCount", 0)):
                return names

    def get_default_acl_access(self) -> dict[str, bool]:
        data = self.command("getDefaultACLAccess")
        return {a["acltype"]: bool(a["allow"]) for a in data.get("acls", [])}

    # -- writes ---------------------------------------------------------------------------
    def bootstrap_defaults(self) -> None:
        """Deny by default everything but unsubscribe (see DEFAULT_ACL_ACCESS)."""
        acls = [{"acltype": k, "allow": v} for k, v in DEFAULT_ACL_ACCESS.items()]
        self.command("setDefaultACLAccess", acls=acls)

    def ensure_role(self, rolename: str, acls: Iterable[Acl]) -> bool:
        """Create the role or bring its ACLs to exactly ``acls``. True if anything
        changed (a change disconnects the role's clients, so nothing is sent
        when the role is already right)."""
        want = {(a.acltype, a.topic): a for a in acls}
        role = self.get_role(rolename)
        if role is None:
            self.command("createRole", rolename=rolename, acls=[a.as_json() for a in want.values()])
            return True
        have = {(a.acltype, a.topic): a for a in map(Acl.from_json, role.get("acls", []))}
        commands: list[dict[str, Any]] = [
            {"command": "removeRoleACL", "rolename": rolename, "acltype": t, "topic": topic}
            for (t, topic), acl in have.items()
            if want.get((t, topic)) != acl
        ]
        commands += [
            {"command": "addRoleACL", "rolename": rolename, **acl.as_json()}
            for key, acl in want.items()
            if have.get(key) != acl
        ]
        self.execute(commands)
        return bool(commands)

    def ensure_account(
        self,
        username: str,
        password: str | None,
        roles: Sequence[str],
        *,
        clientid: str | None = None,
        textname: str | None = None,
    ) -> bool:
        """Create the account with ``roles`` or add the missing ones (extra roles
        are left alone); set the password when one is given. True if changed."""
        client = self.get_client(username)
        if client is None:
            args: dict[str, Any] = {
                "username": username,
                "roles": [{"rolename": r} for r in roles],
            }
            if password is not None:
                args["password"] = password
            if clientid is not None:
                args["clientid"] = clientid
            if textname is not None:
                args["textname"] = textname
            self.command("createClient", **args)
            return True
        have = {r.get("rolename") for r in client.get("roles", [])}
        commands: list[dict[str, Any]] = [
            {"command": "addClientRole", "username": username, "rolename": r}
            for r in roles
            if r not in have
        ]
        if clientid is not None and client.get("clientid") != clientid:
            commands.append({"command": "setClientId", "username": username, "clientid": clientid})
        if password is not None:
            commands.append(
                {"command": "setClientPassword", "username": username, "password": password}
            )
        self.execute(commands)
        return bool(commands)

    def ensure_board(self, board_id: str, password: str | None) -> None:
        """The board's role ``board:<id>`` with exactly its ACLs, and its account
        (pinned to client id ``<id>``) holding that role. ``password=None``: a
        certificate board (no password login) or keep the current password.
        Idempotent; does not enable a disabled board. Refuses to turn a
        non-board account (admin, server) into a board."""
        check_board_id(board_id)
        role = board_role_name(board_id)
        client = self.get_client(board_id)
        if client is not None:
            others = {str(r.get("rolename")) for r in client.get("roles", [])} - {role}
            if others:
                raise DynsecError(
                    "ensure_board",
                    f"account {board_id!r} exists with other roles {sorted(others)};"
                    " it is not a board account",
                    board_id,
                )
        self.ensure_role(role, board_acls(board_id))
        self.ensure_account(
            board_id, password, [role], clientid=board_id, textname=f"board {board_id}"
        )

    def ensure_server_role(self) -> bool:
        """Bring the ``fleet-server`` role to exactly :func:`server_acls`, e.g.
        after an upgrade gave the server a new right (publishing delivery
        receipts). True if it changed: the broker then drops the server's
        connections, which reconnect at once."""
        return self.ensure_role(SERVER_ROLE, server_acls())

    def sync_acls(self, board_ids: Iterable[str]) -> tuple[bool, list[str]]:
        """After an upgrade that changed the ACL model (e.g. delivery receipts):
        the server role and every listed board's role brought to exactly what
        this version grants. Only roles change — a disabled board's account
        keeps no role, so it gains no right. Returns (server role changed,
        boards whose role changed); each changed role's clients are dropped
        once by the broker and reconnect."""
        server = self.ensure_server_role()
        changed = [
            board_id
            for board_id in board_ids
            if self.ensure_role(board_role_name(check_board_id(board_id)), board_acls(board_id))
        ]
        return server, changed

    def set_password(self, username: str, password: str) -> None:
        """New password; the broker disconnects the account's open connections."""
        self.command("setClientPassword", username=username, password=password)

    def disable_client(self, username: str) -> None:
        """Refuse further password logins and disconnect the open ones at once."""
        self.command("disableClient", username=username)

    def enable_client(self, username: str) -> None:
        self.command("enableClient", username=username)

    def disable_board(self, board_id: str) -> None:
        """Disable and disconnect a board, password or certificate.

        Mosquitto 2.0.11 does not run the plugin's login check on the
        certificate listener (``use_identity_as_username``), so a disabled
        certificate board could still connect; taking its role away leaves it
        with no right at all. Revoke its certificate too (CRL + SIGHUP)."""
        role = board_role_name(board_id)
        self.execute(
            [
                {"command": "removeClientRole", "username": board_id, "rolename": role},
                {"command": "disableClient", "username": board_id},
            ]
        )

    def enable_board(self, board_id: str) -> None:
        self.ensure_role(board_role_name(board_id), board_acls(board_id))
        client = self.get_client(board_id)
        if client is None:
            raise DynsecError("enableClient", "Client not found", board_id)
        role = board_role_name(board_id)
        commands: list[dict[str, Any]] = []
        if role not in {r.get("rolename") for r in client.get("roles", [])}:
            commands.append({"command": "addClientRole", "username": board_id, "rolename": role})
        commands.append({"command": "enableClient", "username": board_id})
        self.execute(commands)

    def delete_board(self, board_id: str) -> bool:
        """Delete the board's account (disconnecting it) and its role. False if
        neither existed."""
        check_board_id(board_id)
        answers = self.execute(
            [
                {"command": "deleteClient", "username": board_id},
                {"command": "deleteRole", "rolename": board_role_name(board_id)},
            ],
            check=False,
        )
        gone = 0
        for answer, missing in zip(answers, ("Client not found", "Role not found"), strict=True):
            error = answer.get("error")
            if error == missing:
                gone += 1
            elif error:
                raise DynsecError(str(answer.get("command")), str(error), board_id)
        return gone < 2
