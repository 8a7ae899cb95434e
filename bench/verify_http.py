"""Load /api/v1/verify with distinct genuine codes, and in the same run a bare ASGI floor that
only parses a stamp and checks its signature; print req/s, p50/p99 and the ratio.

    .venv/bin/python bench/verify_http.py [--seconds 3] [--rounds 12] [--workers 2]

The two servers are loaded in alternating rounds. On a shared 2-core machine the speed drifts
by a tenth or more from one round to the next, so the ratio is the median over many short
rounds (each round's pair of figures is printed too). Needs wrk (Debian package `wrk`).
Everything runs on 127.0.0.1 and stops by itself.

The service runs as deployed, rate limits included, except that all of wrk's requests come
from one address: the bench raises the verify limit through the environment (``BENCH_LIMITS``),
so every request is still counted by the limiter and none is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from signing import Payload, PrivateKey, parse_stamp, sign_payload  # noqa: E402
from verifier import registry  # noqa: E402
from verifier.cli.demo import create_demo  # noqa: E402
from verifier.store.database import make_engine, session_factory, sqlite_url  # noqa: E402
from verifier.store.models import Certificate  # noqa: E402

LUA = """
local codes = {}
for line in io.lines("%s") do codes[#codes + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "%s" .. codes[(i %% #codes) + 1])
end
"""


# The service's rate limit per client, raised for wrk's one address; still counted on every
# request (a window counter costs the same at any limit).
BENCH_LIMITS = {"OCOP_RATE_LIMIT_VERIFY": "1000000000/minute"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not answer")


def make_codes(
    data_dir: Path, count: int, now: datetime, *, database_url: str | None = None
) -> tuple[list[str], bytes]:
    """Issue a batch of ``count`` serials for the demo's genuine certificate and sign them;
    the demo's registry is in ``database_url``, by default the SQLite file of ``data_dir``.
    Returns the codes (serials in order) and the signing key's public key."""
    info = json.loads((data_dir / "demo.json").read_text())
    genuine = parse_stamp(info["stamp_urls"]["genuine"]).payload
    engine = make_engine(database_url or sqlite_url(data_dir), writer=True)
    with session_factory(engine).begin() as session:
        producer = registry.actor_for_token(session, token=info["tokens"]["producer"])
        assert producer is not None
        batch = registry.allocate_batch(
            session, actor=producer, certificate_id=genuine.certificate_id, count=count, now=now
        )
        certificate = session.get(Certificate, genuine.certificate_id)
        assert certificate is not None
        first, valid_until = batch.first_serial, certificate.valid_until
    engine.dispose()
    key = PrivateKey.from_pem((data_dir / "keys/province-01.pem").read_bytes(), b"demo")
    codes = [
        sign_payload(
            Payload(genuine.key_index, genuine.certificate_id, genuine.stars, valid_until, s), key
        ).digits
        for s in range(first, first + count)
    ]
    return codes, key.public_key


def run_wrk(
    url_path: str, port: int, codes_file: Path, args: argparse.Namespace
) -> dict[str, float]:
    script = codes_file.with_suffix(".lua")
    script.write_text(LUA % (codes_file, url_path))
    out = subprocess.run(
        [
            "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s",
            "--latency", "-s", str(script), f"http://127.0.0.1:{port}",
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "99"):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        figures[f"p{pct}_ms"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return figures


def serve(
    command: list[str], env: dict[str, str], port: int, probe: str
) -> subprocess.Popen[bytes]:
    log = Path(tempfile.gettempdir()) / f"ocop-bench-{port}.log"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    wait_for(f"http://127.0.0.1:{port}{probe}")
    return process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--codes", type=int, default=20_000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("install wrk first: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="ocop-bench-"))
    now = datetime.now(UTC)
    create_demo(work / "data", b"demo", now)
    codes, public_key = make_codes(work / "data", args.codes, now)
    codes_file = work / "codes.txt"
    codes_file.write_text("\n".join(codes) + "\n")
    python = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OCOP_KEY_PASSPHRASE": "demo"}
    runs: dict[str, list[dict[str, float]]] = {}
    targets = [
        (
            "floor (bare ASGI: parse + Ed25519)",
            ["bench.floor_app:app"],
            "/?code=",
            {"OCOP_FLOOR_PUBLIC_KEY": public_key.hex()},
        ),
        (
            "GET /api/v1/verify (full service)",
            ["verifier.web.asgi:app"],
            "/api/v1/verify?code=",
            {"OCOP_DATA_DIR": str(work / "data"), **BENCH_LIMITS},
        ),
    ]
    servers = {}
    try:
        for name, command, path, extra in targets:
            port = free_port()
            servers[name] = (port, path, serve(
                [python, "-m", "uvicorn", *command, "--port", str(port), "--workers",
                 str(args.workers), "--log-level", "warning", "--no-access-log"],
                {**env, **extra}, port, path + codes[0],
            ))  # fmt: skip
            run_wrk(path, port, codes_file, argparse.Namespace(**{**vars(args), "seconds": 2}))
        for _ in range(args.rounds):  # alternate, so that drift on a noisy machine hits both
            for name, (port, path, _process) in servers.items():
                runs.setdefault(name, []).append(run_wrk(path, port, codes_file, args))
    finally:
        for name, (_port, _path, process) in servers.items():
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print(f"{name}: server slow to stop; killed", file=sys.stderr)
                process.kill()
                process.wait()
    results = {
        name: {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        for name, rounds in runs.items()
    }
    print(f"{args.workers} workers, {args.connections} connections, {args.rounds} alternating "
          f"rounds of {args.seconds} s, {len(codes)} distinct genuine codes; medians")  # fmt: skip
    print("rate limits on, the verify limit raised for wrk's one address: "
          + ", ".join(f"{k}={v}" for k, v in BENCH_LIMITS.items()))  # fmt: skip
    print(f"{'':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, r in results.items():
        print(
            f"{name:40} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non_2xx']:8.0f}"
        )
    for name, rounds in runs.items():
        by_round = ", ".join(f"{r['rps']:.0f}" for r in rounds)
        print(f"  {name}: {by_round} req/s by round")
    floor, full = results.values()
    ratios = [b["rps"] / a["rps"] for a, b in zip(*runs.values(), strict=True)]
    print(f"ratio full/floor (req/s): {full['rps'] / floor['rps']:.2f}; median of the rounds' "
          f"ratios {statistics.median(ratios):.2f} (rounds: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}); target >= 0.75")  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
