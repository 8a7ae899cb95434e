"""``ocop demo``, ``ocop serve`` and ``ocop signer``: make a demo deployment, run the public
service, and run the signer of its lists and batches."""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signing import KeyLoadError
from verifier.cli.common import CommandError, load_settings, start_service
from verifier.cli.demo import DemoExists, create_demo
from verifier.settings import DEMO_PASSPHRASE, PASSPHRASE_VARIABLE
from verifier.signer.signing_role import NoRootKey, Signer


def add_parsers(commands: Any) -> None:
    """Add ``demo`` and ``serve`` to ``commands``, each with its handler."""
    demo = commands.add_parser(
        "demo",
        help="make a complete demo deployment (SQLite, keys, sample stamps of every verdict)",
    )
    demo.set_defaults(run=_demo)
    demo.add_argument("--data-dir", type=Path, required=True)
    serve = commands.add_parser("serve", help="run the verification service")
    serve.set_defaults(run=_serve)
    serve.add_argument("--data-dir", type=Path, required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    signer = commands.add_parser(
        "signer",
        help="sign the trust list, the status list and the registry snapshot as the registry "
        "changes, and the stamps of batches the public role asks for (the role that holds the "
        "keys)",
    )
    signer.set_defaults(run=_signer)
    signer.add_argument("--data-dir", type=Path, required=True)


def _demo(args: argparse.Namespace, now: datetime) -> int:
    passphrase = os.environ.get(PASSPHRASE_VARIABLE) or DEMO_PASSPHRASE
    try:
        database_url = os.environ.get("OCOP_DATABASE_URL")  # as ocop serve reads it
        demo = create_demo(args.data_dir, passphrase.encode(), now, database_url=database_url)
    except DemoExists as exc:
        raise CommandError(str(exc)) from None
    print(f"Demo ready in {args.data_dir}: tokens and sample stamps in {args.data_dir}/demo.json")
    print(f"Start it with: ocop signer --data-dir {args.data_dir} & "
          f"ocop serve --data-dir {args.data_dir}")  # fmt: skip
    for verdict, url in demo["stamp_urls"].items():
        print(f"  {verdict:26} {url[:60]}...")
    claim = demo["claim"]
    print(f"  {'claim (PIN ' + claim['pin'] + ')':26} {claim['url'][:60]}...")
    return 0


def _serve(args: argparse.Namespace, now: datetime) -> int:
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    # keys that do not open, or a public role with no signed lists to serve, are told here in
    # one line, before the workers start (each would fail with a traceback)
    start_service(load_settings(args.data_dir), now).close()
    os.environ["OCOP_DATA_DIR"] = str(args.data_dir.resolve())
    print(f"Serving on http://{args.host}:{args.port} (OpenAPI at /docs)", file=sys.stderr)
    uvicorn.run(
        "verifier.web.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        log_config=_log_config(uvicorn.config.LOGGING_CONFIG),
        access_log=False,
        # The service reads X-Forwarded-For itself, from OCOP_TRUSTED_PROXIES only.
        proxy_headers=False,
    )
    return 0


class UtcFormatter(logging.Formatter):
    """Log lines' times in UTC, whatever the host's time zone."""

    def converter(self, seconds: float | None) -> time.struct_time:
        return time.gmtime(seconds)


def _signer(args: argparse.Namespace, now: datetime) -> int:
    settings = load_settings(args.data_dir)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    logging.config.dictConfig(_log_config({"version": 1, "formatters": {}, "handlers": {
        "default": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
        "loggers": {}}))  # fmt: skip
    try:
        signer = Signer.start(settings)
    except NoRootKey as exc:
        raise CommandError(f"no root key to sign with: {exc}") from None
    except (OSError, KeyLoadError) as exc:
        raise CommandError(f"cannot open the root key of {args.data_dir}: {exc}") from None
    print(f"Signing the lists and batches of the registry at "
          f"{settings.database_url.split('@')[-1]} until stopped", file=sys.stderr)  # fmt: skip
    signer.run_until(lambda: datetime.now(UTC), stop)
    return 0


def _log_config(server: dict[str, Any]) -> dict[str, Any]:
    """Return the server's logging configuration ``server`` with the service's own lines (each
    error answer with its request id), timed to the millisecond in UTC and named by worker,
    written beside the server's (an outage is read by lining lines of several up)."""
    formatters = {
        **server["formatters"],
        "service": {
            "()": "verifier.cli.deployment.UtcFormatter",
            "fmt": "%(asctime)s.%(msecs)03dZ %(process)d %(levelname)s %(name)s: %(message)s",
            "datefmt": "%Y-%m-%dT%H:%M:%S",
        },
    }
    handlers = {
        **server["handlers"],
        "service": {**server["handlers"]["default"], "formatter": "service"},
    }
    loggers = {
        **server["loggers"],
        "verifier": {"handlers": ["service"], "level": "INFO", "propagate": False},
    }
    return {**server, "formatters": formatters, "handlers": handlers, "loggers": loggers}
