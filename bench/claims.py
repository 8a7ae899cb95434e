"""What guessing a stamp's 8-digit PIN costs (issue 21): the PINs actually compared with the
stamp's, per hour, for one client and for many, through the real app (``POST /api/v1/claims``
on the demo, its claims batch), and the chance of hitting the PIN that follows; against a
baseline measured in the same run: the same attack with the per-stamp lock and the per-client
limit turned off.

    .venv/bin/python bench/claims.py [--clients 200] [--hours 24] [--batch 100000]

Each PIN comparison is counted where it happens (``verifier.claims.claiming.pin_matches``,
wrapped). The app's clock is the bench's, so a simulated day passes in seconds: each simulated
hour, fresh clients (new addresses) send wrong PINs at one stamp. The per-client limit counts
in real time; the clients of each hour are new, so only the per-stamp lock holds them.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from signing import Payload, StampIssuer, stamp_url  # noqa: E402
from verifier.claims import claiming  # noqa: E402
from verifier.claims.pins import PIN_DIGITS  # noqa: E402
from verifier.cli.demo import create_demo  # noqa: E402
from verifier.lists.signed_lists import trusted_key  # noqa: E402
from verifier.service import Service  # noqa: E402
from verifier.settings import RateLimits, Settings  # noqa: E402
from verifier.signer import keyfiles  # noqa: E402
from verifier.store.database import sqlite_url  # noqa: E402
from verifier.store.models import Batch, SigningKey  # noqa: E402
from verifier.web.app import create_app  # noqa: E402

PINS = 10**PIN_DIGITS


class Counted:
    """Counts the PIN comparisons made while it is in use (``with Counted() as counted``):
    ``verifier.claims.claiming``'s ``pin_matches``, wrapped."""

    def __init__(self) -> None:
        self.original: Callable[..., bool] = getattr(claiming, "pin_matches")  # noqa: B009
        self.count = 0

    def __call__(self, *args: object) -> bool:
        self.count += 1
        return self.original(*args)

    def __enter__(self) -> Counted:
        setattr(claiming, "pin_matches", self)  # noqa: B010
        return self

    def __exit__(self, *_: object) -> None:
        setattr(claiming, "pin_matches", self.original)  # noqa: B010


class Deployment:
    """The demo's app in this process, on the bench's clock."""

    def __init__(self, data_dir: Path, now: datetime, rate_limits: RateLimits) -> None:
        settings = Settings(data_dir=data_dir, database_url=sqlite_url(data_dir),
                            passphrase=b"")  # fmt: skip
        self.service = Service.start(replace(settings, rate_limits=rate_limits), now)
        self.now = now
        self.app = create_app(self.service, clock=lambda: self.now)
        self.clients = 0

    def client(self) -> TestClient:
        """A client of a new address (its own allowance)."""
        self.clients += 1
        n = self.clients
        return TestClient(self.app, client=(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 4000))

    def close(self) -> None:
        self.service.close()


def _wrong(pin: str) -> str:
    while True:
        guess = f"{secrets.randbelow(PINS):0{PIN_DIGITS}d}"
        if guess != pin.replace(" ", ""):
            return guess


def attack(
    deployment: Deployment, code: str, pin: str, *, clients: int, per_client: int, hours: int
) -> tuple[list[int], Counter[int], float]:
    """Each simulated hour, ``clients`` fresh clients send ``per_client`` wrong PINs each at
    the stamp ``code``; return the PINs compared each hour, the answers by status, and the
    real seconds it took."""
    statuses: Counter[int] = Counter()
    per_hour = []
    start, started = deployment.now, time.perf_counter()
    with Counted() as counted:
        for hour in range(hours):
            deployment.now = start + timedelta(hours=hour, minutes=1)
            before = counted.count
            for _ in range(clients):
                client = deployment.client()
                for _ in range(per_client):
                    answer = client.post("/api/v1/claims", json={"code": code, "pin": _wrong(pin)})
                    statuses[answer.status_code] += 1
            per_hour.append(counted.count - before)
    return per_hour, statuses, time.perf_counter() - started


def one_client_many_stamps(deployment: Deployment, codes: list[str], guesses: int) -> int:
    """Return how many of ``guesses`` wrong PINs one client gets compared when it spreads them
    over many stamps (so no stamp locks): what the per-client limit leaves it."""
    with Counted() as counted:
        client = deployment.client()
        for n in range(guesses):
            client.post("/api/v1/claims", json={"code": codes[n % len(codes)], "pin": "0" * 8})
    return counted.count


def claim_batch_codes(deployment: Deployment, data_dir: Path, now: datetime) -> list[str]:
    """Return the stamp URLs of the demo's batch printed with PINs, signed here with the
    demo's key (the bench plays the printer)."""
    with deployment.service.sessions() as session:
        batch = session.scalars(select(Batch).where(Batch.claim_secret.is_not(None))).one()
        key = session.get(SigningKey, batch.key_index)
        if key is None or key.key_file is None:
            raise SystemExit("the demo's claims batch has no key file")
        issuer = StampIssuer(keyfiles.read_key(data_dir / key.key_file, b"demo"), trusted_key(key))
        first = Payload(batch.key_index, batch.certificate_id, batch.stars, batch.valid_until,
                        batch.first_serial)  # fmt: skip
        digits = issuer.sign_serials(first, batch.count, now)
    return [stamp_url("ocop.vn", d) for d in digits]


def chance(per_hour: float, hours: float) -> float:
    """The chance that ``per_hour`` distinct wrong-or-right guesses an hour hit one PIN."""
    return float(1 - (1 - 1 / PINS) ** (per_hour * hours))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200, help="fresh clients per hour")
    parser.add_argument("--per-client", type=int, default=5, help="wrong PINs each sends")
    parser.add_argument("--hours", type=int, default=24, help="simulated hours")
    parser.add_argument("--batch", type=int, default=100_000, help="stamps of a batch attacked")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="ocop-bench-claims-") as folder:
        data_dir = Path(folder) / "data"
        info = create_demo(data_dir, b"demo", now)
        code, pin = info["claim"]["url"], info["claim"]["pin"]

        open_door = RateLimits(claim="1000000/minute")
        baseline = Deployment(data_dir, now, open_door)
        saved = claiming.WRONG_PINS
        claiming.WRONG_PINS = 10**9  # no per-stamp lock
        try:
            base_hours, _, base_seconds = attack(baseline, code, pin, clients=1,
                                                 per_client=2000, hours=1)  # fmt: skip
        finally:
            claiming.WRONG_PINS = saved
            baseline.close()
        unlimited_rate = base_hours[0] / base_seconds  # guesses a second, one stamp, no limits

        guarded = Deployment(data_dir, now + timedelta(days=1), RateLimits())
        try:
            one = attack(guarded, code, pin, clients=1, per_client=1000, hours=1)
            guarded.now += timedelta(hours=2)
            many, statuses, seconds = attack(
                guarded, code, pin, clients=args.clients, per_client=args.per_client,
                hours=args.hours,
            )  # fmt: skip
            batch_codes = claim_batch_codes(guarded, data_dir, now)
            spread = one_client_many_stamps(guarded, [c for c in batch_codes if c != code], 200)
        finally:
            guarded.close()

    guarded_hour = max(many)
    print(f"PIN: {PIN_DIGITS} digits, {PINS:,} possible; lock after {claiming.WRONG_PINS} wrong "
          f"in {claiming.WRONG_PIN_WINDOW}, for {claiming.LOCK}; per client: "
          f"{RateLimits().claim}")  # fmt: skip
    unlimited_hour = unlimited_rate * 3600
    print(f"baseline, no lock and no client limit: {base_hours[0]:,} PINs compared in "
          f"{base_seconds:.1f} s = {unlimited_rate:,.0f}/s, {unlimited_hour:,.0f} an hour on one "
          f"stamp; chance of its PIN in an hour {chance(unlimited_hour, 1):.2%}")  # fmt: skip
    print(f"one client, 1,000 wrong PINs at one stamp: {one[0][0]} compared "
          f"(answers {dict(sorted(one[1].items()))})")  # fmt: skip
    print(f"{args.clients} fresh clients an hour x {args.per_client} wrong PINs, {args.hours} "
          f"simulated hours ({seconds:.1f} s): PINs compared per hour {sorted(set(many))}, "
          f"{sum(many)} in all (answers {dict(sorted(statuses.items()))})")  # fmt: skip
    print(f"one client spreading 200 wrong PINs over {len(batch_codes) - 1} other stamps of the "
          f"batch: {spread} compared (its per-client limit, within a minute)")  # fmt: skip
    print(f"chance of one stamp's PIN: {chance(guarded_hour, 1):.1e} an hour, "
          f"{chance(guarded_hour, 24):.1e} a day, {chance(guarded_hour, 24 * 365):.1e} a year "
          f"(baseline an hour: {chance(unlimited_rate * 3600, 1):.1e}; ratio "
          f"{guarded_hour / (unlimited_rate * 3600):.1e})")  # fmt: skip
    batch_hour = guarded_hour * args.batch
    print(f"every stamp of a {args.batch:,}-stamp batch at once: {batch_hour:,} PINs an hour, "
          f"{batch_hour / PINS:.3f} hits expected an hour, needing "
          f"{batch_hour / 60:,.0f} client addresses (60 PINs an hour each)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
