"""DynsecClient's own behaviour: errors name the command and the broker's
text, timeouts are explicit, board ACLs are exactly the documented ones."""

from __future__ import annotations

import json

import pytest

from fleet_protocol import subscription_filters
from fleet_server.broker.acls import BOARD_OUTBOUND, Acl, board_acls, board_role_name
from fleet_server.broker.dynsec import DynsecClient
from fleet_server.broker.errors import DynsecError, DynsecTimeout
from fleet_server.errors import BrokerUnavailable
from tests.support.mosquitto import Mosquitto
from tests.support.secure_broker import SecureBroker


def test_board_acls_are_exactly_its_own_topics() -> None:
    acls = {(a.acltype, a.topic) for a in board_acls("lc-mlt-01")}
    assert acls == {
        ("publishClientSend", "fleet/v1/lc-mlt-01/state"),
        ("publishClientSend", "fleet/v1/lc-mlt-01/telemetry/+"),
        ("publishClientSend", "fleet/v1/lc-mlt-01/event/+"),
        ("publishClientSend", "fleet/v1/lc-mlt-01/cmd_result"),
        ("publishClientSend", "fleet/v1/lc-mlt-01/config/reported"),
        ("publishClientSend", "fleet/v1/lc-mlt-01/snapshot"),
        ("publishClientSend", "fleet/v1/lc-mlt-01/logs"),
        ("publishClientSend", "fleet/v1/lc-mlt-01/logs"),
        ("publishClientSend", "fleet/v1/lc-mlt-01/batch"),
        ("subscribePattern", "fleet/v1/lc-mlt-01/cmd/+"),
        ("subscribeLiteral", "fleet/v1/lc-mlt-01/config/desired"),
        ("publishClientReceive", "fleet/v1/lc-mlt-01/cmd/+"),
        ("publishClientReceive", "fleet/v1/lc-mlt-01/config/desired"),
        ("subscribeLiteral", "fleet/v1/lc-mlt-01/receipt"),
        ("publishClientReceive", "fleet/v1/lc-mlt-01/receipt"),
        ("subscribeLiteral", "fleet/v1/lc-mlt-01/capabilities"),
        ("publishClientReceive", "fleet/v1/lc-mlt-01/capabilities"),
    }
    for bad in ("+", "#", "a/b", "%u", ""):
        with pytest.raises(DynsecError):
            board_acls(bad)


def test_a_board_may_publish_every_topic_ingest_reads() -> None:
    """A new board → server channel needs both: ingest's subscription and
    the board's right to publish it (the snapshot channel came with both)."""
    read = {flt.split("/", 3)[3] for flt in subscription_filters()}
    assert read == set(BOARD_OUTBOUND)


def test_errors_name_the_command_and_the_broker_text(dynsec: DynsecClient) -> None:
    with pytest.raises(DynsecError) as info:
        dynsec.command("addClientRole", username="lc-nobody-01", rolename="board:lc-nobody-01")
    assert info.value.command == "addClientRole"
    assert info.value.error == "Client not found"
    assert "lc-nobody-01" in str(info.value)
    with pytest.raises(DynsecError, match=r"setClientPassword.*Client not found"):
        dynsec.set_password("lc-nobody-01", "whatever-password")
    assert dynsec.get_client("lc-nobody-01") is None
    assert dynsec.get_role("board:lc-nobody-01") is None


def test_ensure_board_refuses_service_accounts(
    secure_broker: SecureBroker, dynsec: DynsecClient
) -> None:
    with pytest.raises(DynsecError, match="not a board account"):
        dynsec.ensure_board(secure_broker.server_username, "x" * 20)
    client = dynsec.get_client(secure_broker.server_username)
    assert client is not None
    assert [r["rolename"] for r in client["roles"]] == ["fleet-server"]


def test_ensure_role_repairs_a_tampered_role(dynsec: DynsecClient) -> None:
    dynsec.ensure_board("lc-fix-01", None)
    role = board_role_name("lc-fix-01")
    dynsec.command(
        "addRoleACL", rolename=role, acltype="subscribePattern", topic="fleet/v1/#", allow=True
    )
    dynsec.command(
        "removeRoleACL",
        rolename=role,
        acltype="publishClientSend",
        topic="fleet/v1/lc-fix-01/state",
    )
    assert dynsec.ensure_role(role, board_acls("lc-fix-01")) is True
    got = dynsec.get_role(role)
    assert got is not None
    assert sorted(Acl.from_json(a) for a in got["acls"]) == board_acls("lc-fix-01")
    assert dynsec.ensure_role(role, board_acls("lc-fix-01")) is False


def test_bootstrap_defaults(dynsec: DynsecClient) -> None:
    dynsec.command("setDefaultACLAccess", acls=[{"acltype": "publishClientReceive", "allow": True}])
    dynsec.bootstrap_defaults()
    assert dynsec.get_default_acl_access() == {
        "publishClientSend": False,
        "publishClientReceive": False,
        "subscribe": False,
        "unsubscribe": True,
    }


def test_admin_login_failures_are_clear(secure_broker: SecureBroker) -> None:
    bad = DynsecClient(
        "127.0.0.1",
        secure_broker.tls_port,
        secure_broker.admin_username,
        "wrong-password",
        ca_file=secure_broker.ca_file,
        timeout=5,
    )
    with pytest.raises(BrokerUnavailable, match="refused the admin login"):
        bad.connect()
    # The server account has no $CONTROL rights: said at connect time.
    server = DynsecClient(
        "127.0.0.1",
        secure_broker.tls_port,
        secure_broker.server_username,
        secure_broker.server_password,
        ca_file=secure_broker.ca_file,
        timeout=5,
    )
    with pytest.raises(DynsecError, match="fleet-admin role"):
        server.connect()


def test_no_plugin_means_a_timeout_with_a_hint(mosquitto: Mosquitto) -> None:
    """The dev broker has no plugin: nobody answers on $CONTROL."""
    client = DynsecClient("127.0.0.1", mosquitto.port, "anyone", "anything", tls=False, timeout=0.5)
    with client, pytest.raises(DynsecTimeout, match="plugin loaded"):
        client.list_clients()


def test_from_url(secure_broker: SecureBroker) -> None:
    with DynsecClient.from_url(
        secure_broker.admin_url,
        password=secure_broker.admin_password,
        ca_file=secure_broker.ca_file,
    ) as client:
        assert "fleet-admin" in client.list_clients()
    with pytest.raises(BrokerUnavailable, match="user name"):
        DynsecClient.from_url("mqtts://127.0.0.1:8883", password="x")


def test_large_batches_are_split_below_max_packet_size(dynsec: DynsecClient) -> None:
    """mosquitto.conf's max_packet_size (64 KiB) would drop the admin's
    connection on one big PUBLISH; execute() splits the batch."""
    ids = [f"lc-big-{i:03d}" for i in range(80)]
    commands = [
        {
            "command": "createRole",
            "rolename": board_role_name(board_id),
            "acls": [a.as_json() for a in board_acls(board_id)],
        }
        for board_id in ids
    ]
    assert len(json.dumps({"commands": commands})) > 65536
    answers = dynsec.execute(commands)
    assert [a.get("error") for a in answers] == [None] * len(ids)
    assert dynsec.get_role(board_role_name(ids[-1])) is not None
