"""Stamps to print, per second: the naive path (one signed stamp, one ``qrcode`` object with
its mask search, one Pillow PNG at a time) on a sample, and in the same run the project's
pipeline (``ocop stamps batch``: registry allocation, signing in worker processes, batch QR
encoding, PDF sheets and CSV manifest) on 100,000 stamps.

    .venv/bin/python bench/batch.py [--count 100000] [--sample 400] [--workers 2] [--rounds 3]

Prints stamps per second, the ratio, wall time (medians of alternating rounds), peak memory
and file sizes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# This file is also the ``ocop`` process that the bench measures (``--child``), and its worker
# processes import it as they start, as they would import ``ocop``'s light entry point: so
# everything the bench itself needs is imported inside the functions that use it.


def naive(data_dir: Path, sample: int) -> float:
    """Return stamps per second for the obvious per-stamp path."""
    import qrcode  # noqa: PLC0415

    from signing import Payload, PrivateKey, parse_stamp, sign_payload  # noqa: PLC0415

    info = json.loads((data_dir / "demo.json").read_text())
    genuine = parse_stamp(info["stamp_urls"]["genuine"]).payload
    key = PrivateKey.from_pem((data_dir / "keys/province-01.pem").read_bytes(), b"demo")
    started = time.perf_counter()
    for serial in range(10_000_000, 10_000_000 + sample):
        payload = Payload(genuine.key_index, genuine.certificate_id, genuine.stars,
                          genuine.valid_until, serial)  # fmt: skip
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
        code.add_data(sign_payload(payload, key).url("ocop.vn"), optimize=4)
        code.make(fit=True)
        code.make_image().save(io.BytesIO())
    return sample / (time.perf_counter() - started)


def child(argv: list[str]) -> int:
    """Run ``ocop`` in this process and report its peak memory (this process and the largest
    worker) as JSON on the last line."""
    from verifier.cli import main  # noqa: PLC0415 - imported here so the child pays for it

    status = main(argv)
    print(json.dumps({
        "self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "worker_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }))  # fmt: skip
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return child(args.child)

    from signing import parse_stamp  # noqa: PLC0415
    from verifier.cli.demo import create_demo  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="ocop-bench-batch-"))
    try:
        create_demo(work / "data", b"demo", datetime.now(UTC))
        certificate = parse_stamp(
            json.loads((work / "data/demo.json").read_text())["stamp_urls"]["genuine"]
        ).payload.certificate_id
        command = [
            sys.executable, __file__, "--child", "stamps", "batch",
            "--data-dir", str(work / "data"), "--certificate", str(certificate),
            "--count", str(args.count), "--out", str(work / "stamps.pdf"),
            "--csv", str(work / "stamps.csv"), "--workers", str(args.workers),
        ]  # fmt: skip
        env = {**os.environ, "OCOP_KEY_PASSPHRASE": "demo", "PYTHONPATH": str(ROOT)}
        naive_rates, walls, peaks = [], [], []
        for _ in range(args.rounds):  # alternate, so that drift on a noisy machine hits both
            naive_rates.append(naive(work / "data", args.sample))
            started = time.perf_counter()
            run = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            walls.append(time.perf_counter() - started)
            memory = json.loads(run.stdout.strip().splitlines()[-1])
            peaks.append((memory["self_kib"], memory["worker_kib"]))
        naive_rate, wall = statistics.median(naive_rates), statistics.median(walls)
        self_kib, worker_kib = max(peaks, key=lambda p: p[0] + args.workers * p[1])
        peak_mib = (self_kib + args.workers * worker_kib) / 1024
        rate = args.count / wall
        pdf_mb = (work / "stamps.pdf").stat().st_size / 1e6
        csv_mb = (work / "stamps.csv").stat().st_size / 1e6
        print(f"{args.rounds} alternating rounds; medians")
        print(
            f"naive qrcode + Pillow, per stamp ({args.sample} stamps): {naive_rate:,.0f} stamps/s"
        )
        print(f"ocop stamps batch, {args.count:,} stamps to PDF + CSV, {args.workers} workers:")
        print(f"  wall time        {wall:.2f} s (whole command: start, allocation, files; "
              f"rounds: {', '.join(f'{w:.2f}' for w in walls)})")  # fmt: skip
        print(f"  stamps/s         {rate:,.0f}  ({rate / naive_rate:.0f}x the naive path)")
        print(f"  peak memory      {peak_mib:,.0f} MiB (main {self_kib / 1024:,.0f} + "
              f"{args.workers} x worker {worker_kib / 1024:,.0f}, upper bound, largest "
              "round)")  # fmt: skip
        print(f"  PDF              {pdf_mb:.1f} MB, CSV {csv_mb:.1f} MB")
        print("targets: <= 10 s, >= 10,000 stamps/s, < 1 GB, PDF < 40 MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
