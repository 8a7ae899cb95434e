"""Service settings, from the data directory and the environment.

The service refuses to start with the demo passphrase unless the data directory is a demo
(``demo.json`` present), so a production deployment cannot run on a placeholder secret.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal, TypeVar

from limits import RateLimitItem, parse_many

from verifier.registry import INSPECTOR_BLOCKS, InspectorBlocks
from verifier.scans.clones import RULES, CloneRules
from verifier.scans.recorder import FLUSH_SECONDS
from verifier.store.database import sqlite_url

DEMO_PASSPHRASE = "demo"  # noqa: S105 (the documented demo-only passphrase)
ROOT_KEY_FILE = "keys/root.pem"
# The signer's secrets, from its environment (the service manager's secret store): the public
# role needs none of them
PASSPHRASE_VARIABLE = "OCOP_KEY_PASSPHRASE"  # noqa: S105 (a variable name)
MODULE_VARIABLE = "OCOP_PKCS11_MODULE"
PIN_VARIABLE = "OCOP_HSM_PIN"
# The SMS gateways' secrets (docs/operations.md, "The check by SMS"): a gateway whose secrets
# are unset has no route
SMS_TOKEN_VARIABLE = "OCOP_SMS_TOKEN"  # noqa: S105 (a variable name)
ESMS_CPID_VARIABLE = "OCOP_ESMS_CPID"
ESMS_KEY_VARIABLE = "OCOP_ESMS_PRIVATE_KEY"
SMS_TOKEN_MIN_LENGTH = 32
ROOT_PUBLIC_KEY_FILE = "root-public-key.txt"  # the public role verifies the lists with it
DEFAULT_HOST = "ocop.vn"
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?", re.ASCII)


Kind = Literal["verify", "photo", "sign_in", "token_failures", "claim", "sms"]
KINDS: tuple[Kind, ...] = ("verify", "photo", "sign_in", "token_failures", "claim", "sms")


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The allowance of one client, each in the ``limits`` library's notation (``600/minute``;
    several joined by ``;`` all apply). The defaults leave a shop's counter, an inspector and
    thousands of phones behind one carrier's address well inside: a Vietnamese consumer
    checks a few stamps a day, and the scanner page decodes photos on the phone."""

    verify: str = "600/minute"  # checks: the API (GET, POST) and the consumer pages
    photo: str = "60/minute"  # photos decoded on the server
    sign_in: str = "20/minute;200/hour"  # the desk's and the producer page's sign-in forms
    token_failures: str = "30/minute;300/hour"  # noqa: S105 (answers 401 to a bearer token)
    claim: str = "10/minute;60/hour"  # PINs typed under a stamp's foil, right or wrong
    sms: str = "5/minute;30/hour"  # SMS checks from one phone number (counted by its digest)

    def __post_init__(self) -> None:
        for kind in KINDS:
            items = rate_limit_items(getattr(self, kind), kind)
            if any(item.amount < 1 for item in items):
                raise ValueError(f"the {kind} rate limit must allow at least one request")


def rate_limit_items(notation: str, kind: str) -> tuple[RateLimitItem, ...]:
    """Parse one limit; raises ``ValueError`` naming ``kind`` when it is not one."""
    try:
        return tuple(parse_many(notation))
    except ValueError:
        raise ValueError(
            f"the {kind} rate limit must be like 600/minute (several joined by ';'), "
            f"not {notation!r}"
        ) from None


RATE_LIMITS = RateLimits()


def proxy_networks(texts: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    """Return the networks of ``texts`` (addresses or networks); raises ``ValueError`` when
    one is neither."""
    return tuple(ip_network(text, strict=False) for text in texts)


class SettingsError(Exception):
    """The service cannot start with these settings; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service needs to start."""

    data_dir: Path
    database_url: str
    passphrase: bytes
    # where the root key is: a file under the data directory or a key in a token (pkcs11:...)
    root_key: str = ROOT_KEY_FILE
    pkcs11_module: str | None = None  # the token vendor's PKCS#11 library, for keys in a token
    token_pin: str | None = field(default=None, repr=False)  # the tokens' user PIN
    public_host: str = DEFAULT_HOST
    max_body_bytes: int = 64 * 1024
    max_upload_bytes: int = 8 * 1024 * 1024
    list_refresh_seconds: float = 2.0
    list_publish_seconds: float = 2.0  # at least this long between two re-signings of the lists
    list_publish_wait_seconds: float = 10.0  # a write waits at most this long to be published
    signer_wait_seconds: float = 15.0  # a download waits this long for the signer to take it
    scanner_list_age_hours: int = 48  # older signed lists turn the scanner's notice amber
    photo_threads: int = 1  # threads decoding uploaded photos, in each worker
    photo_queue: int = 4  # photos waiting for a thread; beyond, a photo is answered 503
    # how often each worker writes its queued checks: a worker killed outright (SIGKILL, a
    # crash) loses the checks it answered since its last write
    scan_flush_seconds: float = FLUSH_SECONDS
    clone_rules: CloneRules = RULES
    inspector_blocks: InspectorBlocks = INSPECTOR_BLOCKS
    # the desk's and the producer page's sign-in cookie is sent over HTTPS only (and HSTS is
    # announced); off only for a plain-HTTP demo on the machine itself
    secure_cookies: bool = True
    session_hours: int = 12  # a browser sign-in ends this long after it began
    rate_limits: RateLimits = RATE_LIMITS
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks whose X-Forwarded-For counts
    # the SMS gateways' secrets: the generic contract's bearer token, eSMS's CP id and key
    sms_token: str | None = field(default=None, repr=False)
    esms_cpid: str | None = None
    esms_private_key: str | None = field(default=None, repr=False)
    # where /static and the scanner's service worker are served from; None: the package's own
    # (tests change the scanner's code under a running server in a copy)
    static_dir: Path | None = None

    @property
    def is_demo(self) -> bool:
        return (self.data_dir / "demo.json").is_file()

    @classmethod
    def load(cls, data_dir: Path, environ: dict[str, str] | None = None) -> Settings:
        """Return settings for ``data_dir``, reading ``OCOP_DATABASE_URL``,
        ``OCOP_KEY_PASSPHRASE``, ``OCOP_ROOT_KEY``, ``OCOP_PKCS11_MODULE``, ``OCOP_HSM_PIN``,
        ``OCOP_PUBLIC_HOST``, ``OCOP_SCANNER_LIST_AGE_HOURS``,
        ``OCOP_SCAN_FLUSH_SECONDS``, ``OCOP_SECURE_COOKIES`` (on, except in a demo directory),
        ``OCOP_SESSION_HOURS``,
        ``OCOP_TRUSTED_PROXIES``, ``OCOP_STATIC_DIR``, ``OCOP_PHOTO_THREADS``,
        the SMS gateways' ``OCOP_SMS_TOKEN``, ``OCOP_ESMS_CPID`` and ``OCOP_ESMS_PRIVATE_KEY``,
        ``OCOP_PHOTO_QUEUE``, the clone rules' ``OCOP_CLONE_*`` thresholds (see
        :data:`CLONE_VARIABLES`), what an inspector may block (see
        :data:`INSPECTOR_BLOCK_VARIABLES`) and the rate limits'
        ``OCOP_RATE_LIMIT_*`` (see :data:`RATE_LIMIT_VARIABLES`).

        Raises :class:`SettingsError` when the data directory is missing, the demo passphrase
        is used outside a demo, or a number, a switch, a rate limit or a trusted proxy is not
        one, or ``OCOP_STATIC_DIR`` names no directory, or an SMS gateway's secrets are short
        or half set. A missing passphrase is the signer's
        to refuse, when it opens a key file (``ocop serve`` opens none).
        """
        env = dict(os.environ) if environ is None else environ
        if not data_dir.is_dir():
            raise SettingsError(f"{data_dir} is not a directory; run `ocop demo --data-dir DIR`")
        demo = (data_dir / "demo.json").is_file()
        passphrase = env.get(PASSPHRASE_VARIABLE) or (DEMO_PASSPHRASE if demo else "")
        if passphrase == DEMO_PASSPHRASE and not demo:
            raise SettingsError(
                f"{PASSPHRASE_VARIABLE} is the demo passphrase; choose a real one for production"
            )
        age = env.get("OCOP_SCANNER_LIST_AGE_HOURS") or "48"
        if not age.isdigit() or not 1 <= int(age) <= 24 * 90:
            raise SettingsError("OCOP_SCANNER_LIST_AGE_HOURS must be a whole number of hours")
        try:  # nan and inf fail the range
            flush = float(env.get("OCOP_SCAN_FLUSH_SECONDS") or FLUSH_SECONDS)
        except ValueError:
            flush = 0.0
        if not 0.05 <= flush <= 5:
            raise SettingsError("OCOP_SCAN_FLUSH_SECONDS must be a number of seconds, 0.05 to 5")
        hours = env.get("OCOP_SESSION_HOURS") or "12"
        if not hours.isdigit() or not 1 <= int(hours) <= 24 * 7:
            raise SettingsError("OCOP_SESSION_HOURS must be a whole number of hours, 1 to 168")
        static = Path(env["OCOP_STATIC_DIR"]) if env.get("OCOP_STATIC_DIR") else None
        if static is not None and not static.is_dir():
            raise SettingsError(f"OCOP_STATIC_DIR must be a directory of static files: {static}")
        host = env.get("OCOP_PUBLIC_HOST") or DEFAULT_HOST
        if _HOST.fullmatch(host) is None:
            raise SettingsError(
                f"OCOP_PUBLIC_HOST must be the host name printed in the stamps' URLs, "
                f"like {DEFAULT_HOST}, not {host!r}"
            )
        sms_token, esms_cpid, esms_key = _sms_gateways(env)
        return cls(
            clone_rules=_overrides(env, CLONE_VARIABLES, RULES, "the clone rules"),
            inspector_blocks=_overrides(
                env, INSPECTOR_BLOCK_VARIABLES, INSPECTOR_BLOCKS, "the inspector block limits"
            ),
            rate_limits=_overrides(env, RATE_LIMIT_VARIABLES, RATE_LIMITS, "the rate limits"),
            trusted_proxies=_trusted_proxies(env),
            data_dir=data_dir,
            database_url=env.get("OCOP_DATABASE_URL") or sqlite_url(data_dir),
            passphrase=passphrase.encode(),
            root_key=env.get("OCOP_ROOT_KEY") or ROOT_KEY_FILE,
            pkcs11_module=env.get(MODULE_VARIABLE) or None,
            token_pin=env.get(PIN_VARIABLE) or None,
            public_host=host,
            scanner_list_age_hours=int(age),
            scan_flush_seconds=flush,
            secure_cookies=_switch(env, "OCOP_SECURE_COOKIES", default=not demo),
            session_hours=int(hours),
            static_dir=static,
            sms_token=sms_token,
            esms_cpid=esms_cpid,
            esms_private_key=esms_key,
            **_photo_pool(env),
        )


def _sms_gateways(env: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    """The SMS gateways' secrets the environment sets: the generic contract's token, eSMS's CP
    id and private key (``None`` for each unset). Raises :class:`SettingsError` for a
    token shorter than :data:`SMS_TOKEN_MIN_LENGTH` or eSMS's CP id without its key (or the
    key without the id)."""
    token = env.get(SMS_TOKEN_VARIABLE) or None
    if token is not None and len(token) < SMS_TOKEN_MIN_LENGTH:
        raise SettingsError(
            f"{SMS_TOKEN_VARIABLE} must be at least {SMS_TOKEN_MIN_LENGTH} characters (a random "
            "secret shared with the SMS gateway)"
        )
    cpid, key = env.get(ESMS_CPID_VARIABLE) or None, env.get(ESMS_KEY_VARIABLE) or None
    if (cpid is None) != (key is None):
        raise SettingsError(f"set both {ESMS_CPID_VARIABLE} and {ESMS_KEY_VARIABLE}, or neither")
    return token, cpid, key


_SWITCH = {"1": True, "true": True, "yes": True, "on": True,
           "0": False, "false": False, "no": False, "off": False}  # fmt: skip


def _switch(env: dict[str, str], variable: str, *, default: bool) -> bool:
    """The on/off setting ``variable`` (1/0, true/false, yes/no, on/off), or ``default`` when
    it is unset. Raises :class:`SettingsError` for any other value."""
    value = env.get(variable, "").strip().lower()
    if not value:
        return default
    if value not in _SWITCH:
        raise SettingsError(f"{variable} must be 1 or 0 (on or off), not {value!r}")
    return _SWITCH[value]


#: The photo decoding pool's sizes: variable -> (setting, lowest value allowed).
PHOTO_VARIABLES = {
    "OCOP_PHOTO_THREADS": ("photo_threads", 1),
    "OCOP_PHOTO_QUEUE": ("photo_queue", 0),
}


def _photo_pool(env: dict[str, str]) -> dict[str, int]:
    """The photo pool's sizes that the environment sets. Raises :class:`SettingsError` when
    one is not a whole number from its lowest value to 64."""
    sizes = {}
    for variable, (setting, lowest) in PHOTO_VARIABLES.items():
        value = env.get(variable)
        if not value:
            continue
        if not value.isdigit() or not lowest <= int(value) <= 64:
            raise SettingsError(f"{variable} must be a whole number from {lowest} to 64")
        sizes[setting] = int(value)
    return sizes


CLONE_VARIABLES = {
    "OCOP_CLONE_MAX_DEVICES": "max_devices",
    "OCOP_CLONE_MAX_PLACES": "max_places",
    "OCOP_CLONE_MAX_SPEED_KMH": "max_speed_kmh",
    "OCOP_CLONE_MIN_DISTANCE_KM": "min_distance_km",
    "OCOP_CLONE_MARKET_KM": "market_km",
    "OCOP_CLONE_BATCH_SERIALS": "batch_serials",
}


INSPECTOR_BLOCK_VARIABLES = {
    "OCOP_INSPECTOR_BLOCK_CHECK_DAYS": "check_days",
    "OCOP_INSPECTOR_BLOCKS_PER_DAY": "per_day",
}


RATE_LIMIT_VARIABLES = {
    "OCOP_RATE_LIMIT_VERIFY": "verify",
    "OCOP_RATE_LIMIT_PHOTO": "photo",
    "OCOP_RATE_LIMIT_SIGN_IN": "sign_in",
    "OCOP_RATE_LIMIT_TOKEN_FAILURES": "token_failures",
    "OCOP_RATE_LIMIT_CLAIM": "claim",
    "OCOP_RATE_LIMIT_SMS": "sms",
}


_Rules = TypeVar("_Rules", CloneRules, InspectorBlocks, RateLimits)


def _overrides(
    env: dict[str, str], variables: dict[str, str], defaults: _Rules, what: str
) -> _Rules:
    """``defaults`` (a dataclass) with each field that one of ``variables`` sets in ``env``
    in place of its default, converted to the default's type. Raises :class:`SettingsError`
    naming the variable or ``what`` when a value does not fit."""
    changes: dict[str, Any] = {}
    for variable, name in variables.items():
        value = env.get(variable)
        if not value:
            continue
        kind = type(getattr(defaults, name))
        try:
            changes[name] = kind(value)
        except ValueError:
            what_kind = "a whole number" if kind is int else "a number"
            raise SettingsError(f"{variable} must be {what_kind}") from None
    try:
        return replace(defaults, **changes)
    except ValueError as exc:
        raise SettingsError(f"{what}: {exc}") from None


def _trusted_proxies(env: dict[str, str]) -> tuple[str, ...]:
    """The addresses and networks of ``OCOP_TRUSTED_PROXIES`` (comma-separated). Raises
    :class:`SettingsError` when one is not an address or network."""
    proxies = tuple(p.strip() for p in env.get("OCOP_TRUSTED_PROXIES", "").split(",") if p.strip())
    try:
        proxy_networks(proxies)
    except ValueError as exc:
        raise SettingsError(f"OCOP_TRUSTED_PROXIES: {exc}") from None
    return proxies
