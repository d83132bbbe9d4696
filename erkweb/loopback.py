"""Whether the app listens on loopback only, which decides whether its pages need a login.

On loopback (``make run``) only people on this machine reach the pages, and they can run ``erk``
anyway: no login, as for any local tool. Anywhere else every page and action is behind Django's login.
The choice is ``ERKWEB_REQUIRE_LOGIN``; unset, it follows the host the app is told to bind
(``ERKWEB_HOST``, or ``up --host``). It is never inferred from a request: a Host header or a proxy's
address says nothing about who else can connect.
"""

import ipaddress

from .env import env_bool


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, any 127/8 address, ``::1`` (bracketed or not) and ``localhost``; nothing else."""
    host = host.strip().removeprefix("[").removesuffix("]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name, or 0.0.0.0's spelled-out cousins: may be reachable from elsewhere
        return False


def login_required_for(host: str) -> bool:
    return env_bool("ERKWEB_REQUIRE_LOGIN", not is_loopback(host))
