"""Stamps to print, per second: the naive path (one signed stamp, one ``qrcode`` object with
its mask search, one Pillow PNG at a time) on a sample, and in the same run the project's
pipeline (``ocop stamps batch``: registry allocation, signing in worker processes, batch QR
encoding, PDF sheets and CSV manifest) on 100,000 stamps, signed with a key file and, side by
side, with a key in a SoftHSM2 token (a copy of the same demo whose authority signs with it),
and with a key file in the GS1 Digital Link form (``--form gs1``: QR version 8, not 6).

    .venv/bin/python bench/batch.py [--count 100000] [--sample 400] [--workers 2] [--rounds 3]

Prints stamps per second, the ratio, wall time (medians of alternating rounds), peak memory,
file sizes, and what one signature costs in one process with the key in memory and through
the token.
"""

from __future__ import annotations

import argparse
import contextlib
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
from typing import Any

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


def soft_token(folder: Path) -> dict[str, str]:
    """Make a SoftHSM2 token in ``folder``; return the environment that reaches it."""
    (folder / "tokens").mkdir(parents=True)
    (folder / "softhsm2.conf").write_text(
        f"directories.tokendir = {folder / 'tokens'}\nlog.level = ERROR\n"
    )
    env = {"SOFTHSM2_CONF": str(folder / "softhsm2.conf"), "OCOP_HSM_PIN": "246810",
           "OCOP_PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so"}  # fmt: skip
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin",
         env["OCOP_HSM_PIN"], "--so-pin", "13579135"],
        env={**os.environ, **env}, check=True, capture_output=True,
    )  # fmt: skip
    return env


def per_signature(data_dir: Path, token_uri: str, count: int) -> tuple[float, float]:
    """Return the microseconds one signature takes in this process with the demo's file key
    and with the key in the token, over ``count`` stamp-sized messages each."""
    from signing import DOMAIN_TAG, PrivateKey  # noqa: PLC0415
    from verifier.signer.token_keys import TokenAccess, TokenKeyRef, open_key  # noqa: PLC0415

    file_key = PrivateKey.from_pem((data_dir / "keys/province-01.pem").read_bytes(), b"demo")
    access = TokenAccess(os.environ["OCOP_PKCS11_MODULE"], os.environ["OCOP_HSM_PIN"])
    token_key = open_key(access, TokenKeyRef.parse(token_uri))
    messages = [DOMAIN_TAG + serial.to_bytes(16, "big") for serial in range(count)]
    took = []
    for key in (file_key, token_key):
        started = time.perf_counter()
        for message in messages:
            key.sign(message)
        took.append((time.perf_counter() - started) / count * 1e6)
    return took[0], took[1]


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


TOKEN_KEY = "pkcs11:token=bench;object=stamp"  # noqa: S105 (a key's name, no secret)


def prepare(work: Path) -> int:
    """Make the demo in ``work/file`` and a copy in ``work/token`` whose VN-01 signs with a new
    key in a SoftHSM2 token (reached through this process's environment from then on); return
    the genuine sample's certificate id."""
    from signing import parse_stamp  # noqa: PLC0415
    from verifier.cli import main as ocop  # noqa: PLC0415
    from verifier.cli.demo import create_demo  # noqa: PLC0415

    create_demo(work / "file", b"demo", datetime.now(UTC))
    shutil.copytree(work / "file", work / "token")
    os.environ.update({**soft_token(work / "softhsm"), "OCOP_KEY_PASSPHRASE": "demo"})
    for command in (
        ["keys", "token-generate", "--token", "bench", "--label", "stamp"],
        ["keys", "add", "--authority", "VN-01", "--key", TOKEN_KEY],
    ):
        with contextlib.redirect_stdout(io.StringIO()):
            assert ocop([*command, "--data-dir", str(work / "token")]) == 0
    genuine = json.loads((work / "file/demo.json").read_text())["stamp_urls"]["genuine"]
    return parse_stamp(genuine).payload.certificate_id


def batch(work: Path, run: str, certificate: int, args: argparse.Namespace) -> list[float]:
    """Run ``ocop stamps batch`` as ``run`` says (``file``, ``token``: the data directory of
    ``work``; ``file-gs1``: the key file, the GS1 Digital Link form); return its wall time and
    peak memory (KiB, the command's process and its largest worker)."""
    kind, _, form = run.partition("-")
    command = [
        sys.executable, __file__, "--child", "stamps", "batch",
        "--data-dir", str(work / kind), "--certificate", str(certificate),
        "--count", str(args.count), "--out", str(work / f"{run}.pdf"),
        "--csv", str(work / f"{run}.csv"), "--workers", str(args.workers),
        "--form", form or "decimal",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ocop stamps batch ({run}) failed:\n{done.stderr[-8000:]}")
    memory = json.loads(done.stdout.strip().splitlines()[-1])
    return [wall, memory["self_kib"], memory["worker_kib"]]


class TwoRoles:
    """``ocop signer`` and ``ocop serve`` on one data directory, as ``make run`` starts them."""

    def __init__(self, data_dir: Path, port: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        ocop = [sys.executable, "-m", "verifier"]
        self.url = f"http://127.0.0.1:{port}"
        self.processes = [
            subprocess.Popen([*ocop, "signer", "--data-dir", str(data_dir)], env=env,
                             stderr=subprocess.DEVNULL),
            subprocess.Popen([*ocop, "serve", "--data-dir", str(data_dir), "--port", str(port)],
                             env=env, stderr=subprocess.DEVNULL),
        ]  # fmt: skip
        self.token = json.loads((data_dir / "demo.json").read_text())["tokens"]["producer"]
        deadline = time.monotonic() + 60
        while True:
            try:
                self.call("/livez")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def call(self, path: str, body: dict[str, int] | None = None) -> Any:
        import urllib.request  # noqa: PLC0415

        request = urllib.request.Request(  # noqa: S310 - loopback
            self.url + path, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        return urllib.request.urlopen(request, timeout=120)  # noqa: S310

    def download(self, certificate: int, count: int) -> list[float]:
        """Order a batch and download its PDF; return the seconds to its first bytes and to
        its end, and its size in bytes."""
        batch = json.load(self.call("/api/v1/batches", {"certificate_id": certificate,
                                                        "count": count}))  # fmt: skip
        started = time.perf_counter()
        answer = self.call(f"/api/v1/batches/{batch['id']}/stamps.pdf")
        size = len(answer.read(1))
        first = time.perf_counter() - started
        while piece := answer.read(1 << 20):
            size += len(piece)
        return [first, time.perf_counter() - started, size]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=30)


def report(work: Path, kind: str, runs: list[list[float]], args: argparse.Namespace) -> float:
    """Print one kind of key's figures against the naive rate; return its median wall time."""
    walls = [run[0] for run in runs]
    wall = statistics.median(walls)
    _, self_kib, worker_kib = max(runs, key=lambda r: r[1] + args.workers * r[2])
    peak_mib = (self_kib + args.workers * worker_kib) / 1024
    pdf_mb = (work / f"{kind}.pdf").stat().st_size / 1e6
    csv_mb = (work / f"{kind}.csv").stat().st_size / 1e6
    print(f"  wall time        {wall:.2f} s (whole command: start, allocation, files; "
          f"rounds: {', '.join(f'{w:.2f}' for w in walls)})")  # fmt: skip
    print(f"  stamps/s         {args.count / wall:,.0f}")
    print(f"  peak memory      {peak_mib:,.0f} MiB (main {self_kib / 1024:,.0f} + "
          f"{args.workers} x worker {worker_kib / 1024:,.0f}, upper bound, largest "
          "round)")  # fmt: skip
    print(f"  PDF              {pdf_mb:.1f} MB, CSV {csv_mb:.1f} MB")
    return wall


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

    work = Path(tempfile.mkdtemp(prefix="ocop-bench-batch-"))
    try:
        certificate = prepare(work)
        naive_rates: list[float] = []
        runs: dict[str, list[list[float]]] = {"file": [], "token": [], "file-gs1": []}
        for _ in range(args.rounds):  # alternate, so that drift on a noisy machine hits all
            naive_rates.append(naive(work / "file", args.sample))
            for kind, done in runs.items():
                done.append(batch(work, kind, certificate, args))
        file_us, token_us = per_signature(work / "file", TOKEN_KEY, args.sample * 10)
        downloads: dict[str, list[list[float]]] = {"file": [], "token": []}
        for port, (kind, done) in enumerate(downloads.items(), start=8731):
            roles = TwoRoles(work / kind, port)
            try:
                for _ in range(args.rounds):
                    done.append(roles.download(certificate, args.count))
            finally:
                roles.stop()
        naive_rate = statistics.median(naive_rates)
        print(f"{args.rounds} alternating rounds; medians")
        print(
            f"naive qrcode + Pillow, per stamp ({args.sample} stamps): {naive_rate:,.0f} stamps/s"
        )
        print(f"ocop stamps batch, {args.count:,} stamps to PDF + CSV, {args.workers} workers,")
        print(" with a key file:")
        file_wall = report(work, "file", runs["file"], args)
        print(f"  vs naive         {args.count / file_wall / naive_rate:.0f}x the naive path")
        print(" with a key in a SoftHSM2 token:")
        token_wall = report(work, "token", runs["token"], args)
        extra = (token_wall - file_wall) / args.count * 1e6
        print(f"  vs key file      {token_wall / file_wall:.2f}x the wall time, "
              f"{extra:+.1f} us per stamp")  # fmt: skip
        print(" with a key file, in the GS1 Digital Link form (QR version 8):")
        gs1_wall = report(work, "file-gs1", runs["file-gs1"], args)
        print(f"  vs decimal form  {gs1_wall / file_wall:.2f}x the wall time, "
              f"{(gs1_wall - file_wall) / args.count * 1e6:+.1f} us per stamp")  # fmt: skip
        print(f"one signature in one process ({args.sample * 10:,} of each): key in memory "
              f"{file_us:.1f} us, through the token {token_us:.1f} us, overhead "
              f"{token_us - file_us:.1f} us ({token_us / file_us:.1f}x)")  # fmt: skip
        print(f"a producer's download of {args.count:,} stamps (PDF) from ocop serve, signed by "
              "ocop signer through the database:")  # fmt: skip
        for kind, done in downloads.items():
            first = statistics.median(d[0] for d in done)
            whole = statistics.median(d[1] for d in done)
            print(f"  {'key file' if kind == 'file' else 'SoftHSM2':9} first bytes {first:.2f} s, "
                  f"whole {whole:.2f} s ({done[0][2] / 1e6:.1f} MB; rounds: "
                  f"{', '.join(f'{d[0]:.2f}/{d[1]:.2f}' for d in done)})")  # fmt: skip
        print("targets: <= 10 s with a key file, >= 10,000 stamps/s, < 1 GB, PDF < 40 MB; a "
              "download starts within seconds")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
