"""A batch's print-ready file, streamed to its producer or authority from the codes the signer
signs: the request goes to the signer through the database (:mod:`verifier.registry.
signing_queue`), the codes come back chunk by chunk and are QR-encoded and laid out here. This
process holds no key: it waits for the signer's answer, and says so when none comes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from signing import STAMP_DIGITS
from stamps.chunks import ChunkEncoder
from stamps.print_files import FileKind, file_writer
from stamps.sheet import Layout
from verifier import registry
from verifier.claims.pins import with_printed_pins
from verifier.registry import Actor, StampForm, signing_queue
from verifier.service import Service
from verifier.service_errors import Busy, Conflict, Invalid
from verifier.store.models import Batch, Certificate, SigningRequest, SigningState

__all__ = ["SignedFile", "signed_file"]

POLL_SECONDS = 0.05  # how often a download looks for the signer's next codes
STALL_SECONDS = 60.0  # a download whose signer stores nothing for this long is broken off
_log = logging.getLogger(__name__)


class SignerStopped(Exception):
    """The signer failed or stopped storing codes once the file had begun: the download is
    broken off, so that no truncated file looks complete."""


@dataclass(frozen=True, slots=True)
class _Asked:
    """A request queued: its id, the serials asked, and what their stamps show."""

    request_id: int
    serials: range
    stars: int
    key_index: int
    gtin: str | None  # the product's, for the GS1 Digital Link form
    pin_secret: bytes | None = field(default=None, repr=False)  # a batch with claims: its PINs


class SignedFile:
    """A batch's file, begun: iterating streams it."""

    def __init__(
        self, service: Service, asked: _Asked, first_codes: str, kind: FileKind, layout: Layout,
        title: str,
    ) -> None:  # fmt: skip
        self._service, self._asked, self._first_codes = service, asked, first_codes
        self._encoder = ChunkEncoder(
            service.settings.public_host, with_pngs=kind == "zip", gtin=asked.gtin
        )
        self._writer = file_writer(kind, layout, service.settings.public_host, title)

    def __iter__(self) -> Iterator[bytes]:
        """Yield the file's bytes as each chunk of codes arrives. Raises :class:`SignerStopped`
        when the signer fails or stalls midway. The codes are deleted from the database at the
        end, whatever happens."""
        asked = self._asked
        try:
            serial, codes = asked.serials.start, self._first_codes
            while True:
                count = len(codes) // STAMP_DIGITS
                digits = [codes[i * STAMP_DIGITS : (i + 1) * STAMP_DIGITS] for i in range(count)]
                chunk = with_printed_pins(
                    self._encoder.encode(
                        asked.key_index, asked.stars, range(serial, serial + count), digits
                    ),
                    asked.pin_secret,
                )
                self._writer.add(chunk)
                serial += count
                if piece := self._writer.take():
                    yield piece
                if serial >= asked.serials.stop:
                    break
                codes = _codes_from(self._service, asked.request_id, serial, STALL_SECONDS)
            self._writer.finish()
            yield self._writer.take()
        finally:
            with self._service.writer.begin() as session:
                signing_queue.forget_signed_codes(session, request_id=asked.request_id)


def signed_file(
    service: Service,
    *,
    actor: Actor,
    batch_id: int,
    kind: FileKind,
    layout: Layout,
    form: StampForm = "decimal",
    now: datetime,
) -> SignedFile:
    """Ask the signer for the codes of batch ``batch_id`` and return its file, its stamps
    written in ``form``, once the first codes arrived; a batch with claims is laid out with
    ``layout``'s PIN panels, and its CSV manifest has each stamp's PIN. Raises as
    :func:`signing_queue.queue_signing` (not the actor's batch, too many downloads open);
    :class:`Invalid` for the GS1 form of a product without a GTIN, or a layout where no stamp
    with its PIN panel fits (nothing is queued);
    :class:`Conflict` with the signer's reason when it refuses; :class:`Busy` when it cannot
    use the key, or does not take the request within ``signer_wait_seconds`` (the request is
    then abandoned: nothing is signed)."""
    with service.writer.begin() as session:
        request = signing_queue.queue_signing(session, actor=actor, batch_id=batch_id, now=now)
        batch = registry.get(session, Batch, request.batch_id)
        certificate = registry.get(session, Certificate, batch.certificate_id)
        title = f"OCOP {certificate.product.name} - batch {batch_id}"
        gtin = registry.stamp_gtin(certificate.product, form)
        if batch.claim_secret is not None:
            layout = _with_pin_panels(layout)
        asked = _Asked(request.id, range(request.first_serial, request.last_serial + 1),
                       batch.stars, batch.key_index, gtin, batch.claim_secret)  # fmt: skip
    wait = service.settings.signer_wait_seconds
    codes = _first_codes(service, asked, wait, now)
    return SignedFile(service, asked, codes, kind, layout, title)


def _with_pin_panels(layout: Layout) -> Layout:
    """Return ``layout`` with PIN panels. Raises :class:`Invalid` when no stamp fits then."""
    try:
        return layout.with_pin_panels()
    except ValueError as exc:
        raise Invalid(f"{exc} (with the PIN panel of a batch with claims)") from None


def _look(service: Service, request_id: int, serial: int) -> tuple[SigningRequest, str | None]:
    """Return the request as it stands and its stored codes from ``serial``, if any. The state
    is read first: once it says signed, every code was stored before (on PostgreSQL each
    statement sees what was committed when it began)."""
    with service.sessions() as session:
        request = registry.get(session, SigningRequest, request_id)
        codes = signing_queue.signed_codes_from(session, request_id=request_id, first_serial=serial)
    return request, codes


def _first_codes(service: Service, asked: _Asked, wait: float, now: datetime) -> str:
    """Return the request's first codes once stored. Raises :class:`Conflict`/:class:`Busy`
    as :func:`signed_file` says."""
    silent = Busy.refusal("signing_signer_silent", seconds=round(wait))
    silent.retry_after = 60
    deadline = time.monotonic() + wait
    while True:
        request, codes = _look(service, asked.request_id, asked.serials.start)
        if codes is not None:
            return codes
        state, figures = request.state, request.figures or {}
        if state is SigningState.REFUSED:
            raise Conflict.refusal(request.reason or "signing_not_allowed", **figures)
        if state is SigningState.FAILED:
            error = Busy.refusal(request.reason or "signing_key_unusable", **figures)
            error.retry_after = 300
            raise error
        late = time.monotonic() > deadline
        if state is SigningState.QUEUED and late:
            with service.writer.begin() as session:
                abandoned = signing_queue.abandon_request(
                    session, request_id=asked.request_id, now=now
                )
            if abandoned:  # raised past the transaction, which commits the abandonment
                raise silent
            deadline = time.monotonic() + STALL_SECONDS  # taken meanwhile: wait for its codes
        elif state is not SigningState.QUEUED and (state is not SigningState.SIGNING or late):
            raise silent  # given up by the signer, or taken and never answered
        time.sleep(POLL_SECONDS)


def _codes_from(service: Service, request_id: int, serial: int, stall: float) -> str:
    """Return the request's codes from ``serial`` once stored. Raises :class:`SignerStopped`
    when the signer failed, or stored nothing for ``stall`` seconds."""
    deadline = time.monotonic() + stall
    while True:
        request, codes = _look(service, request_id, serial)
        if codes is not None:
            return codes
        if request.state is not SigningState.SIGNING or time.monotonic() > deadline:
            _log.warning("signing request %d stopped at serial %d (%s)", request_id, serial,
                         request.state)  # fmt: skip
            raise SignerStopped(f"the signer stopped at serial {serial}")
        time.sleep(POLL_SECONDS)
