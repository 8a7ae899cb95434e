"""Rate limits per client: how many checks, photo checks, sign-ins and failed tokens one client
may send (the allowances are settings, :class:`verifier.settings.RateLimits`, in the ``limits``
library's notation), counted in each worker's memory.

A client is its address (an IPv6 address by its /64, which one subscriber holds whole), or,
for a check signed with a bearer token, that token: inspectors behind one carrier's address
keep their own allowance. Each worker counts on its own, so with ``--workers N`` a client may
get up to N times a limit before every worker refuses it.
"""

from __future__ import annotations

import hashlib
import math
import time
from functools import lru_cache
from ipaddress import IPv6Address, IPv6Network, ip_address

from verifier.settings import KINDS, Kind, RateLimits, proxy_networks, rate_limit_items

__all__ = ["Limiter", "TrustedProxies", "client_key", "token_client"]


SWEEP_SECONDS = 10.0


class Limiter:
    """Counts each client's requests of each kind in this worker's memory over a sliding
    window: the requests of the current fixed window plus those of the window before, weighted
    by the share of it still inside the last window's length (the "sliding window counter" of
    the ``limits`` library). A burst across a window's end is refused like one inside a window;
    the price is an estimate that assumes the window before was spread evenly. Used from the
    event loop's thread only.

    Written here rather than with the library's counters (the library parses the notation),
    whose key formatting, locking and storage layers cost the hot path more than this
    dictionary (measured with bench/verify_http.py)."""

    def __init__(self, rules: RateLimits) -> None:
        self._limits = {
            kind: tuple(
                (item.amount, item.get_expiry())
                for item in rate_limit_items(getattr(rules, kind), kind)
            )
            for kind in KINDS
        }
        # (kind, client, window seconds) -> [the window's number, requests in it, in the one before]
        self._counts: dict[tuple[str, str, int], list[int]] = {}
        self._next_sweep = 0.0

    def hit(self, kind: Kind, client: str) -> int | None:
        """Count a request of ``kind`` from ``client`` against every limit of its kind (a
        refused one counts too: a flood keeps its client refused). Return ``None`` when it is
        within the limits, else the whole seconds until the client may try again."""
        now = time.monotonic()
        if now >= self._next_sweep:
            self._sweep(now)
        wait = None
        for amount, seconds in self._limits[kind]:
            key = (kind, client, seconds)
            count = _rolled(self._counts.setdefault(key, [int(now // seconds), 0, 0]), now, seconds)
            refused = _requests_in_window(count, now, seconds) + 1 > amount
            count[1] += 1
            if refused and wait is None:
                wait = _seconds_until_room(count, now, seconds, amount)
        return wait

    def exhausted(self, kind: Kind, client: str) -> int | None:
        """Return the whole seconds until ``client`` may send a request of ``kind`` again when
        its allowance is used up, else ``None``; counts nothing."""
        now = time.monotonic()
        for amount, seconds in self._limits[kind]:
            count = self._counts.get((kind, client, seconds))
            if count is None:
                continue
            count = _rolled(count, now, seconds)
            if _requests_in_window(count, now, seconds) + 1 > amount:
                return _seconds_until_room(count, now, seconds, amount)
        return None

    def _sweep(self, now: float) -> None:
        """Forget the counters of clients quiet for two windows (they read as zero anyway)."""
        self._next_sweep = now + SWEEP_SECONDS
        for key in [k for k, c in self._counts.items() if c[0] < int(now // k[2]) - 1]:
            del self._counts[key]


def _rolled(count: list[int], now: float, seconds: int) -> list[int]:
    """Return ``count`` (changed in place) moved on to the window holding ``now``: the requests
    of the window just ended become the previous window's, older ones are forgotten."""
    window = int(now // seconds)
    if count[0] != window:
        count[:] = [window, 0, count[1] if count[0] == window - 1 else 0]
    return count


def _requests_in_window(count: list[int], now: float, seconds: int) -> float:
    """Return the estimated requests of the last ``seconds`` before ``now``."""
    share_of_previous = 1 - (now - count[0] * seconds) / seconds
    return count[1] + count[2] * share_of_previous


def _seconds_until_room(count: list[int], now: float, seconds: int, amount: int) -> int:
    """Return the whole seconds (at least 1) until one more request fits in ``amount``, if no
    other request comes meanwhile: later in this window once the previous window's weight has
    fallen far enough, else in the next one, as this window's requests in turn lose weight."""
    elapsed = now - count[0] * seconds
    room = amount - 1  # the most requests a window may hold before one more
    if count[1] <= room:  # then the previous window holds some: it is what is too much
        wait = seconds * (1 - (room - count[1]) / count[2]) - elapsed
    else:
        wait = seconds - elapsed + seconds * (1 - room / count[1])
    return max(1, math.ceil(wait))


class TrustedProxies:
    """Who the client is: the peer's address, or, when the peer is one of the trusted proxies
    (addresses or networks), the address that proxy names in ``X-Forwarded-For``. Without
    trusted proxies the header is never read, so no caller can choose its own address."""

    def __init__(self, networks: tuple[str, ...]) -> None:
        """Raises ``ValueError`` when one of ``networks`` is not an address or network."""
        self.networks = proxy_networks(networks)

    def trusts(self, address: str) -> bool:
        """Return whether ``address`` is one of the trusted proxies."""
        if not self.networks:
            return False
        try:
            ip = ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """Return the client's address: ``peer``, unless it is a trusted proxy that sent
        ``X-Forwarded-For``; then the last address there that is not a trusted proxy (the one
        the trusted proxies saw; earlier ones are the caller's to write)."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",")]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop if _is_address(hop) else peer
        return hops[0]


def _is_address(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


def client_key(address: str) -> str:
    """Return what a client is counted by: an IPv4 address (or a name) as it is, an IPv6
    address by its /64."""
    return _ipv6_prefix(address) if ":" in address else address


@lru_cache(maxsize=4096)
def _ipv6_prefix(address: str) -> str:
    try:
        ip = ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(IPv6Network((ip, 64), strict=False))


def token_client(token: bytes) -> str:
    """Return what a caller with the bearer ``token`` is counted by (a digest: the token
    itself is kept nowhere)."""
    return "token:" + hashlib.sha256(token).hexdigest()[:32]
