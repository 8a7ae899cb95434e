"""Print-ready files of a batch already recorded in the registry, signed here, on the signer's
host (``ocop stamps batch``): the PDF sheets or roll, the CSV manifest and the ZIP of PNGs,
written to files that appear complete or not at all; and the registry's grant to sign, which
the signer's queue (:mod:`verifier.signer.batch_signer`) asks too."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from stamps.batch import BatchSpec, KeySource, signed_chunks
from stamps.print_files import FileKind, FileWriter, file_writer
from stamps.qr import ErrorCorrection
from stamps.sheet import Layout
from verifier import registry
from verifier.claims.pins import with_printed_pins
from verifier.lists.signed_lists import trusted_key
from verifier.registry import Actor, SigningGrant, StampForm
from verifier.service_errors import Conflict
from verifier.settings import Settings
from verifier.signer.key_access import holds_key, key_source
from verifier.signer.token_keys import TokenError


def signing_grant(
    writer: sessionmaker[Session],
    *,
    actor: Actor,
    batch_id: int,
    first_serial: int | None = None,
    last_serial: int | None = None,
    now: datetime,
) -> SigningGrant:
    """Return the registry's grant to sign serials of batch ``batch_id`` (see
    :func:`verifier.registry.grant_signing`), audited in a transaction of its own. Raises what
    it raises; a refusal with a reason is audited first, in another transaction."""
    serials = {"first_serial": first_serial, "last_serial": last_serial}
    try:
        with writer.begin() as session:
            return registry.grant_signing(
                session, actor=actor, batch_id=batch_id, now=now, **serials
            )
    except Conflict as refusal:
        if refusal.reason is None:
            raise
        with writer.begin() as session:
            registry.refuse_signing(
                session, actor=actor, batch_id=batch_id, refusal=refusal, now=now, **serials
            )
        raise


def batch_source(
    settings: Settings,
    grant: SigningGrant,
    now: datetime,
    *,
    with_pngs: bool = False,
    form: StampForm = "decimal",
    error_correction: ErrorCorrection = "M",
) -> tuple[BatchSpec, KeySource]:
    """Return what :func:`stamps.batch.signed_chunks` needs to sign the serials of ``grant``
    at ``now``, written in ``form`` in QR codes of ``error_correction``.

    Raises :class:`Conflict` when this server does not hold the batch's signing key (its file,
    or the module and PIN of its token), or the key in its token does not open;
    :class:`Invalid` for the GS1 form of a product without a GTIN."""
    gtin = registry.stamp_gtin(grant.certificate.product, form)
    key, batch = grant.key, grant.batch
    if not key.key_file or not holds_key(settings, key.key_file):
        raise Conflict(f"this server does not hold the private key {key.index}")
    spec = BatchSpec(
        certificate_id=grant.certificate.id,
        stars=batch.stars,
        valid_until=batch.valid_until,
        first_serial=grant.first_serial,
        count=grant.count,
        now=now,
        host=settings.public_host,
        with_pngs=with_pngs,
        gtin=gtin,
        error_correction=error_correction,
    )
    try:
        return spec, key_source(settings, key.key_file, trusted_key(key))
    except TokenError as exc:
        raise Conflict(f"cannot open the private key {key.index}: {exc.detail}") from None


def stream(
    spec: BatchSpec, source: KeySource, writers: list[FileWriter], *, workers: int = 1,
    progress: Callable[[int], None] | None = None, pin_secret: bytes | None = None,
) -> Iterator[list[bytes]]:  # fmt: skip
    """Sign and lay out the batch, yielding after each chunk what each writer made; for a batch
    with claims (its ``pin_secret``), with each stamp's PIN, computed here, never stored."""
    done = 0
    for signed in signed_chunks(spec, source, workers=workers):
        chunk = with_printed_pins(signed, pin_secret)
        for w in writers:
            w.add(chunk)
        done += len(chunk.serials)
        if progress is not None:
            progress(done)
        yield [w.take() for w in writers]
    for w in writers:
        w.finish()
    yield [w.take() for w in writers]


def write_files(
    spec: BatchSpec,
    source: KeySource,
    outputs: dict[FileKind, Path],
    layout: Layout,
    title: str,
    *,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    pin_secret: bytes | None = None,
) -> None:
    """Write the batch's files, with the PINs of a batch with claims (its ``pin_secret``; the
    ``layout`` then needs PIN panels). Each is written under a temporary name and renamed when
    complete, so an interrupted run leaves no file that looks finished.

    Raises ``OSError`` for files that cannot be written (temporary files are removed), and
    ``ValueError`` when the layout has PIN panels and the batch no PINs, or the other way."""
    kinds = list(outputs)
    writers = [file_writer(k, layout, spec.host, title) for k in kinds]
    partial = {k: outputs[k].with_name(outputs[k].name + ".part") for k in kinds}
    handles = {k: partial[k].open("wb") for k in kinds}
    try:
        pieces_made = stream(
            spec, source, writers, workers=workers, progress=progress, pin_secret=pin_secret
        )
        for pieces in pieces_made:
            for kind, piece in zip(kinds, pieces, strict=True):
                handles[kind].write(piece)
        for kind in kinds:
            handles[kind].flush()
            os.fsync(handles[kind].fileno())
            handles[kind].close()
            partial[kind].replace(outputs[kind])
    except BaseException:
        for kind in kinds:
            handles[kind].close()
            partial[kind].unlink(missing_ok=True)
        raise
