"""Does verification slow down as scan events pile up? On PostgreSQL, load
`GET /api/v1/verify` with distinct genuine codes (wrk) with 0, 1 million and 10 million scan
events in the database (spread over a million serials, with their per-serial aggregates, as
the recorder keeps them), and print req/s, p50/p99 and the answers other than 2xx side by
side. The verify rate limit is raised for wrk's one address, as in bench/verify_http.py.

    OCOP_BENCH_DATABASE_URL=postgresql+psycopg://ocop:ocop@127.0.0.1/ocop_test \\
        .venv/bin/python bench/scan_growth.py [--sizes 0,1000000,10000000] [--seconds 6]

Runs in a schema of its own, dropped at the end. Needs wrk and a PostgreSQL server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.verify_http import BENCH_LIMITS, free_port, run_wrk, serve  # noqa: E402
from signing import Payload, PrivateKey, parse_stamp, sign_payload  # noqa: E402
from verifier import registry  # noqa: E402
from verifier.cli.demo import create_demo  # noqa: E402
from verifier.store.database import make_engine, session_factory  # noqa: E402
from verifier.store.models import Certificate  # noqa: E402

SYNTHETIC_SERIALS = 1_000_000
SYNTHETIC_FIRST = 50_000_000  # far above the serials the benchmark's codes use

GROW = """
INSERT INTO scans (at, key_index, serial, verdict, role, device_id)
SELECT now() - random() * interval '365 days', 1, {first} + (g % {serials}), 'genuine', 'public',
       'device-' || (g % 5000)
FROM generate_series(1, {count}) AS g
"""
AGGREGATE = """
INSERT INTO serial_scans (key_index, serial, count, first_at, last_at, devices, places)
SELECT key_index, serial, count(*), min(at), max(at), least(count(*), 5), 1
FROM scans WHERE serial >= {first} GROUP BY key_index, serial
ON CONFLICT (key_index, serial) DO UPDATE SET count = excluded.count,
    first_at = excluded.first_at, last_at = excluded.last_at
"""


def codes_for(data_dir: Path, database_url: str, count: int) -> list[str]:
    info = json.loads((data_dir / "demo.json").read_text())
    genuine = parse_stamp(info["stamp_urls"]["genuine"]).payload
    engine = make_engine(database_url, writer=True)
    with session_factory(engine).begin() as session:
        producer = registry.actor_for_token(session, token=info["tokens"]["producer"])
        assert producer is not None
        batch = registry.allocate_batch(
            session,
            actor=producer,
            certificate_id=genuine.certificate_id,
            count=count,
            now=datetime.now(UTC),
        )
        certificate = session.get(Certificate, genuine.certificate_id)
        assert certificate is not None
        first, valid_until = batch.first_serial, certificate.valid_until
    engine.dispose()
    key = PrivateKey.from_pem((data_dir / "keys/province-01.pem").read_bytes(), b"demo")
    return [
        sign_payload(Payload(genuine.key_index, genuine.certificate_id, genuine.stars,
                             valid_until, serial), key).digits
        for serial in range(first, first + count)
    ]  # fmt: skip


def measure(
    work: Path, database_url: str, probe: str, codes_file: Path, args: argparse.Namespace
) -> dict[str, float]:
    """Serve the data directory on PostgreSQL and load it with wrk; return its figures."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OCOP_KEY_PASSPHRASE": "demo",
           "OCOP_DATA_DIR": str(work / "data"), "OCOP_DATABASE_URL": database_url,
           **BENCH_LIMITS}  # fmt: skip
    port = free_port()
    path = "/api/v1/verify?code="
    process = serve(
        [sys.executable, "-m", "uvicorn", "verifier.web.asgi:app", "--port", str(port),
         "--workers", str(args.workers), "--log-level", "warning", "--no-access-log"],
        env, port, path + probe,
    )  # fmt: skip
    try:
        run_wrk(path, port, codes_file, argparse.Namespace(**{**vars(args), "seconds": 2}))
        return run_wrk(path, port, codes_file, args)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="0,1000000,10000000")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    base = os.environ.get("OCOP_BENCH_DATABASE_URL") or os.environ.get("OCOP_TEST_DATABASE_URL")
    if not base or shutil.which("wrk") is None:
        raise SystemExit("set OCOP_BENCH_DATABASE_URL to a PostgreSQL server; install wrk")
    sizes = [int(s) for s in args.sizes.split(",")]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    database_url = f"{base}?options=-csearch_path%3D{schema}"
    work = Path(tempfile.mkdtemp(prefix="ocop-bench-growth-"))
    results = []
    try:
        create_demo(work / "data", b"demo", datetime.now(UTC), database_url=database_url)
        codes = codes_for(work / "data", database_url, 20_000)
        codes_file = work / "codes.txt"
        codes_file.write_text("\n".join(codes) + "\n")
        engine = create_engine(database_url)
        held = 0
        measure(work, database_url, codes[0], codes_file, args)  # warm up: caches, first start
        for size in sizes:
            started = time.monotonic()
            with engine.begin() as connection:
                if size > held:
                    connection.execute(
                        text(
                            GROW.format(
                                first=SYNTHETIC_FIRST, serials=SYNTHETIC_SERIALS, count=size - held
                            )
                        )
                    )
                    connection.execute(text(AGGREGATE.format(first=SYNTHETIC_FIRST)))
                connection.exec_driver_sql("ANALYZE scans")
                connection.exec_driver_sql("ANALYZE serial_scans")
                stored = connection.execute(text("SELECT count(*) FROM scans")).scalar_one()
            held = size
            grown = time.monotonic() - started
            figures = measure(work, database_url, codes[0], codes_file, args)
            results.append((stored, figures, grown))
        engine.dispose()
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)
    print(f"PostgreSQL, {args.workers} workers, {args.connections} connections, {args.seconds} s "
          "each, 20,000 distinct genuine codes")  # fmt: skip
    print(f"{'scan events':>14} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}"
          "   (loading took)")  # fmt: skip
    for stored, figures, grown in results:
        print(f"{stored:>14,} {figures['rps']:8.0f} {figures['p50_ms']:8.2f} "
              f"{figures['p99_ms']:8.2f} {figures['non_2xx']:8.0f}   ({grown:.0f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
