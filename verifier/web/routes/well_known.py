"""The signed trust and status lists and the registry snapshot, for offline verifiers
(docs/stamp-format.md section 7): each served as it was compressed once per version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from verifier.lists.compressed import CompressedDocument
from verifier.web.deps import Count, Now, ServiceDep

router = APIRouter(prefix="/.well-known/ocop", tags=["lists"])
SinceQuery = Annotated[
    Count | None, Query(description="the version held: send the changes since it")
]


def _document(request: Request, document: CompressedDocument, max_age: int) -> Response:
    headers = {
        "Cache-Control": f"public, max-age={max_age}",
        "ETag": document.etag,
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == document.etag:
        return Response(status_code=304, headers=headers)
    body, encoding = document.encoded(request.headers.get("accept-encoding", ""))
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    return Response(body, media_type="application/json", headers=headers)


@router.get("/trust-list", summary="The signed trust list (flattened JWS, EdDSA)")
def trust_list(request: Request, service: ServiceDep, now: Now) -> Response:
    return _document(request, service.lists(now).trust, 3600)


@router.get(
    "/status-list",
    summary="The signed status list, or its changes since a version (flattened JWS, EdDSA)",
)
def status_list(
    request: Request, service: ServiceDep, now: Now, since: SinceQuery = None
) -> Response:
    if since is None:
        return _document(request, service.lists(now).status, 300)
    return _document(request, service.keeper.status_changes(since, now), 300)


@router.get(
    "/registry-snapshot",
    summary="The signed registry snapshot for offline scanners (flattened JWS, EdDSA)",
)
def registry_snapshot(
    request: Request, service: ServiceDep, now: Now, since: SinceQuery = None
) -> Response:
    if since is None:
        return _document(request, service.lists(now).snapshot_body, 300)
    return _document(request, service.keeper.snapshot_changes(since, now), 300)
