"""Online checks while the registry is written: the latency of anonymous `GET /api/v1/verify`
on a national-size registry (15,000 certificates by default) when idle, and during a burst of
registry writes (revocations through the API, as fast as they are answered), measured in the
same run and alternating, with the ratio of the two p99s. Target: p99 during the writes within
2x of idle (issue 17: the lists are signed and the index rebuilt off the request path, at most
once every two seconds however many writes arrive).

    .venv/bin/python bench/list_writes.py [--certificates 15000] [--writes 10] [--rounds 3]

Each checker sends at a fixed pace and a check's latency counts from when it was due, so a
stall is not hidden by the checkers waiting for it. Everything runs on 127.0.0.1 and stops by
itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.abuse import NO_LIMITS, Deployment, check_latencies, percentiles, running  # noqa: E402
from bench.verify_http import free_port, make_codes, serve  # noqa: E402
from tests.national_registry import NationalShape, build_national_registry  # noqa: E402

# after a burst, the documents are signed once more (list_publish_seconds after the last
# signing): the idle round starts after that
SETTLE_SECONDS = 6.0


def revoker(
    deployment: Deployment, token: str, certificates: list[int], took: list[float]
) -> Callable[[threading.Event], None]:
    """Return a loop that revokes ``certificates`` one after another through the API, noting
    how long each write took to be answered."""

    def loop(stop: threading.Event) -> None:
        connection = deployment.connect()
        for certificate_id in certificates:
            if stop.is_set():
                break
            body = json.dumps({"decision": "QĐ 1/QĐ-UBND", "decision_date": "2026-12-01",
                               "reason": "Không duy trì điều kiện"})  # fmt: skip
            started = time.perf_counter()
            connection.request(
                "POST", f"/api/v1/certificates/{certificate_id}/revoke", body,
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )  # fmt: skip
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise SystemExit(f"a revocation answered {answer.status}")
            took.append(time.perf_counter() - started)
        connection.close()

    return loop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--certificates", type=int, default=15_000)
    parser.add_argument("--writes", type=int, default=10, help="revocations in each burst")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checkers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50.0, help="checks a second per checker")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ocop-bench-writes-"))
    try:
        now = datetime.now(UTC)
        built = build_national_registry(work / "data", NationalShape.of(args.certificates), now)
        codes, _ = make_codes(work / "data", 2000, now)
        hanoi = built.demo["tokens"]["authority_VN-01"]
        revocable = [p.certificate_id for p in built.revocable]
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OCOP_KEY_PASSPHRASE": "demo", **NO_LIMITS}
        command = [sys.executable, "-m", "verifier", "serve", "--data-dir", str(work / "data"),
                   "--port", str(port), "--workers", "1"]  # fmt: skip
        # the signer beside it, as in production: it signs the documents that ocop serve then
        # reads and compresses
        signer = subprocess.Popen(
            [sys.executable, "-m", "verifier", "signer", "--data-dir", str(work / "data")],
            env=env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        process = serve(command, env, port, "/healthz")
        deployment = Deployment(port, work / "data", built.demo, codes)
        idle: list[float] = []
        busy: list[float] = []
        took: list[float] = []
        try:
            check_latencies(deployment, args.checkers, args.rate, 2.0)  # warm up
            for round_ in range(args.rounds):
                idle += check_latencies(deployment, args.checkers, args.rate, 6.0)
                start = round_ * args.writes
                burst = revocable[start : start + args.writes]
                with running([revoker(deployment, hanoi, burst, took)]):
                    busy += check_latencies(deployment, args.checkers, args.rate, 6.0)
                time.sleep(SETTLE_SECONDS)  # the last signing of the burst ends before idle
        finally:
            for running_process in (process, signer):
                running_process.terminate()
                running_process.wait(timeout=30)
        quiet, loaded = percentiles(idle), percentiles(busy)
        print(f"{args.certificates} certificates; {args.checkers} checkers x {args.rate:.0f}/s; "
              f"{args.rounds} rounds: 6 s idle, 6 s with {args.writes} revocations")  # fmt: skip
        for name, figures, count in (("idle", quiet, len(idle)), ("writes", loaded, len(busy))):
            print(f"  {name:7} {count:6} checks  p50 {figures['p50']:7.1f} ms  "
                  f"p90 {figures['p90']:7.1f} ms  p99 {figures['p99']:7.1f} ms")  # fmt: skip
        print(f"  each revocation answered in median {statistics.median(took) * 1000:.0f} ms, "
              f"max {max(took) * 1000:.0f} ms ({len(took)} writes)")  # fmt: skip
        ratio = loaded["p99"] / quiet["p99"]
        verdict = "PASS" if ratio <= 2 else "FAIL"
        print(f"  p99 during writes / idle: {ratio:.2f}  (target <= 2: {verdict})")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
