"""Drive `cockpit users` as an admin would: add, role, password, token, remove, all audited."""

from __future__ import annotations

import re

from click.testing import CliRunner

from cockpit.access.accounts import AccountStore
from cockpit.access.audit import AuditLog
from cockpit.cli import main
from cockpit.store.database import make_engine


def run(url: str, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["users", *args, "--database-url", url], input=stdin)


def test_an_admin_manages_accounts_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    added = run(url, "add", "li", "--role", "dispatcher")
    assert added.exit_code == 0, added.output
    password = re.search(r"shown only now\): (\S+)", added.output).group(1)
    wall = run(url, "add", "wall-2", "--role", "kiosk", "--url", "http://cockpit.lan/")
    token = re.search(r"/kiosk\?token=(\S+)", wall.output).group(1)
    assert wall.output.startswith("wall link") and "http://cockpit.lan/kiosk?token=" in wall.output

    engine = make_engine(url)
    accounts = AccountStore(engine)
    assert accounts.authenticate("li", password).role.value == "dispatcher"
    assert accounts.by_token(token).username == "wall-2"

    assert run(url, "role", "li", "leader").exit_code == 0
    assert run(url, "password", "li", "--password-stdin", stdin="a-new-password\n").exit_code == 0
    assert accounts.authenticate("li", "a-new-password").role.value == "leader"
    assert run(url, "token", "wall-2").exit_code == 0
    assert accounts.by_token(token) is None
    assert run(url, "list").output.splitlines() == ["li: leader", "wall-2: kiosk"]
    assert run(url, "remove", "li").exit_code == 0

    actions = [row["action"] for row in AuditLog(engine).search()]
    assert sorted(actions) == sorted(
        ["account_add", "account_add", "account_role", "account_password", "kiosk_token",
         "account_remove"]
    )  # fmt: skip
    assert password not in str(AuditLog(engine).export_csv())


def test_a_refused_change_is_one_clear_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    bad = run(url, "add", "w1", "--role", "grid_worker")
    assert bad.exit_code == 1 and "Error: a grid_worker account needs --worker" in bad.output
    assert "Traceback" not in bad.output
    assert run(url, "remove", "ghost").exit_code == 1
    assert run(url, "add", "zz", "--role", "boss").exit_code == 2  # click names the choices
