"""Make a new cockpit reachable: on first start an admin and a wall account, and say how to sign in."""

from __future__ import annotations

from cockpit.access.accounts import AccountStore
from cockpit.access.policy import Role

FIRST_ADMIN = "admin"
FIRST_WALL = "wall"


def sign_in_notice(accounts: AccountStore, base_url: str) -> list[str]:
    """Create the first admin and wall accounts when there are none; return the console's lines.

    A password or token is shown once, here, and never stored in clear: the lines after the first
    start say how to set a new one.
    """
    base = base_url.rstrip("/")
    lines = [f"cockpit: sign in at {base}/login"]
    if not accounts.has_role(Role.ADMIN):
        password = accounts.add(FIRST_ADMIN, Role.ADMIN)
        lines.append(
            f"  first start: account {FIRST_ADMIN!r}, one-time password {password} "
            f"(shown only now; set your own with `cockpit users password {FIRST_ADMIN}`)"
        )
    else:
        lines.append("  a forgotten password: `cockpit users password NAME` sets a new one")
    if not accounts.has_role(Role.KIOSK):
        token = accounts.add(FIRST_WALL, Role.KIOSK)
        lines.append(f"  the wall (kiosk {FIRST_WALL!r}, no sign-in): {base}/kiosk?token={token}")
    else:
        lines.append(
            "  a wall's link: `cockpit users token NAME` (a new link; the old one stops working)"
        )
    lines.append(
        "  more accounts: `cockpit users add NAME --role viewer|dispatcher|leader|admin` "
        "or `--role grid_worker --worker ID`"
    )
    return lines
