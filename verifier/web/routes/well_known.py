"""The signed trust and status lists, for offline verifiers."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from verifier.lists import signed_lists
from verifier.web.deps import Count, Now, ServiceDep

router = APIRouter(prefix="/.well-known/ocop", tags=["lists"])


def _document(request: Request, body: bytes, version: int, max_age: int) -> Response:
    etag = f'"{version}-{hashlib.sha256(body).hexdigest()[:12]}"'
    headers = {"Cache-Control": f"public, max-age={max_age}", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/trust-list", summary="The signed trust list (flattened JWS, EdDSA)")
def trust_list(request: Request, service: ServiceDep, now: Now) -> Response:
    lists = service.lists(now)
    return _document(request, lists.trust_document, lists.trust_list.version, 3600)


@router.get("/status-list", summary="The signed status list (flattened JWS, EdDSA)")
def status_list(request: Request, service: ServiceDep, now: Now) -> Response:
    lists = service.lists(now)
    return _document(request, lists.status_document, lists.status_list.version, 300)


@router.get(
    "/registry-snapshot",
    summary="The signed registry snapshot for offline scanners (flattened JWS, EdDSA)",
)
def registry_snapshot(
    request: Request,
    service: ServiceDep,
    now: Now,
    since: Annotated[Count | None, Query(description="the version held: send changes only")] = None,
) -> Response:
    lists = service.lists(now)
    if since is None or since > lists.snapshot.version:
        return _document(request, lists.snapshot.document, lists.snapshot.version, 300)
    changes = signed_lists.registry_snapshot(lists.index, service.root, now, since)
    return _document(request, changes.document, changes.version, 300)
