"""What ``fleet-server demo`` prints when everything runs: where each part
is, the demo accounts, the rule profile, and where the notices go."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fleet_server.simulator.profile import DemoProfile

#: The console's page of queued and sent notices.
NOTICES_PATH = "notices"


@dataclass(frozen=True, slots=True)
class Banner:
    db_url: str
    db_label: str
    mqtt_url: str
    mqtt_label: str
    boards: int
    sites: int
    scenario: str
    console_url: str
    accounts: dict[str, str]
    roles: dict[str, str]
    accounts_file: Path
    profile: DemoProfile
    #: the mail catcher's file, None when it could not start
    mail_file: Path | None
    mail_port: int | None
    history: str


def print_banner(say: Callable[[str], None], b: Banner) -> None:
    mail = (
        (
            "Thư / Mail",
            f"{b.mail_file}",
            f"notices as e-mail, caught on 127.0.0.1:{b.mail_port}: tail -f it",
        )
        if b.mail_file is not None
        else ("Thư / Mail", "—", "no mail catcher (pip install aiosmtpd): notices stay queued")
    )
    rows = [
        ("Bảng điều khiển / Console", b.console_url, "web console, Vietnamese / English"),
        ("API", f"{b.console_url}api/v1/docs", "OpenAPI; POST /api/v1/auth/token for a token"),
        *(
            ("Đăng nhập / Log in", f"{user} / {b.accounts[user]}", role)
            for user, role in b.roles.items()
            if user in b.accounts
        ),
        ("Mật khẩu / Passwords", str(b.accounts_file), "random, made on the first run"),
        ("Cơ sở dữ liệu / Database", b.db_url, b.db_label),
        ("MQTT broker", b.mqtt_url, b.mqtt_label),
        (
            "Bảng tin / Boards",
            f"{b.boards} boards at {b.sites} sites",
            f"simulated, scenario {b.scenario}",
        ),
        ("Lịch sử / History", b.history, "charts, availability, compliance, tickets"),
        ("Luật / Rule profile", "demo", b.profile.describe()),
        (
            "Thông báo / Notices",
            f"{b.console_url}{NOTICES_PATH}",
            "every notice queued, sent or failed (log in as quan.tri)",
        ),
        mail,
        ("Xem dữ liệu / Look", f"psql {b.db_url}", "e.g. SELECT * FROM board_latest;"),
        ("Dừng / Stop", "Ctrl-C", "stops everything it started"),
    ]
    width = max(len(r[0]) for r in rows)
    say("Cụm thông tin điện tử công cộng Lai Châu — bản trình diễn / demo")
    for label, value, note in rows:
        say(f"  {label.ljust(width)}  {value}  ({note})")
