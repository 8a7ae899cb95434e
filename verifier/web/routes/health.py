"""Health: liveness (the process answers) and readiness (all is well, or what is not)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from verifier.web.deps import Now, ServiceDep

router = APIRouter(tags=["health"])

BEHIND_SECONDS = 10.0  # a check waiting longer than this to be written makes a node unready
LOST_SECONDS = 300.0  # a check dropped or refused keeps a node unready this long
SIGNER_LATE_SECONDS = 30.0  # signed lists behind the registry this long: the signer is down


@router.get("/livez")
def livez() -> dict[str, str]:
    """Liveness: 200 while the process answers, whatever its database does (restart the
    process only when this fails; /healthz says whether all is well)."""
    return {"status": "alive"}


@router.get("/healthz")
def healthz(service: ServiceDep, now: Now) -> JSONResponse:
    """Readiness: 200 with ``status: ok`` when all is well, else 503 with ``status:
    degraded`` and the ``problems``: ``database_unreachable`` (it did not answer a probe),
    ``scans_not_written`` (the recorder's writes fail), ``scans_behind`` (a check has waited
    over :data:`BEHIND_SECONDS` to be written), ``scans_lost`` (a check was dropped from a full
    queue or refused by the database in the last :data:`LOST_SECONDS`). Verdicts are answered
    all along, from the signed lists; the versions of those are given too.

    ``warnings`` leave the node ready: ``signer_late`` says the signed lists phones download
    have been behind the registry for over :data:`SIGNER_LATE_SECONDS` (``ocop signer`` is down
    or cannot reach the database); verdicts online still show every write."""
    lists = service.lists(now)
    recorder = service.recorder
    trouble, oldest, lost_at = recorder.trouble, recorder.oldest_queued(), recorder.lost_at
    behind = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
    scans: dict[str, Any] = {
        "recording": trouble is None,
        "queued": recorder.queued,
        "behind_seconds": round(behind, 1),
        "dropped": recorder.dropped,
        "refused": recorder.refused,
    }
    if trouble is not None:
        scans.update(
            failing_seconds=round(time.monotonic() - trouble.since, 1), error=trouble.error
        )
    database_error = service.database_trouble()
    problems = [
        name
        for name, present in (
            ("database_unreachable", database_error is not None),
            ("scans_not_written", trouble is not None),
            ("scans_behind", behind > BEHIND_SECONDS),
            ("scans_lost", lost_at is not None and time.monotonic() - lost_at < LOST_SECONDS),
        )
        if present
    ]
    behind_since = service.keeper.behind_since
    unsigned = 0.0 if behind_since is None else time.monotonic() - behind_since
    answer = {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "warnings": ["signer_late"] if unsigned > SIGNER_LATE_SECONDS else [],
        "database": {"reachable": database_error is None, "error": database_error},
        "trust_list_version": lists.trust_list.version,
        "status_list_version": lists.status_list.version,
        "signed_status_list_version": lists.status.version,
        "signed_lists_behind_seconds": round(unsigned, 1),
        "scans": scans,
    }
    return JSONResponse(answer, status_code=503 if problems else 200)
