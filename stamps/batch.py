"""The batch pipeline after allocation: sign each serial, encode the QR codes of whole chunks
at once, and hand the chunks, in order, to the writers of :mod:`stamps.sheet`.

Serials must already be recorded in the registry before this runs (the caller allocates them
first), so a crash here can lose a file, never a record of what was signed. Signing and
encoding run in worker processes when the batch is large enough to pay for starting them;
each worker opens the signing key itself, from its :class:`KeySource`.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from signing import Ed25519Signer, Payload, PrivateKey, StampIssuer, TrustedKey
from stamps.chunks import ChunkEncoder
from stamps.qr import ErrorCorrection
from stamps.sheet import StampChunk

__all__ = ["CHUNK", "BatchSpec", "FileKeySource", "KeySource", "signed_chunks"]

CHUNK = 2000  # stamps per chunk: large enough for NumPy, small enough to stream
PARALLEL_FROM = 6000  # below this, starting worker processes costs more than it saves


class KeySource(Protocol):
    """How a worker process opens the signing key: a picklable description of where the
    private key is, with the key's trust-list entry (the private key itself never crosses a
    process boundary)."""

    @property
    def key(self) -> TrustedKey:
        """The key's trust-list entry."""
        ...

    def private_key(self) -> Ed25519Signer:
        """Return the private key, opened in this process. Raises ``KeyLoadError``."""
        ...


@dataclass(frozen=True, slots=True)
class FileKeySource:
    """A key in an encrypted PEM file: the file's content, its passphrase and the key's
    trust-list entry."""

    pem: bytes
    passphrase: bytes
    key: TrustedKey

    def private_key(self) -> PrivateKey:
        """Return the decrypted key. Raises ``KeyLoadError``."""
        return PrivateKey.from_pem(self.pem, self.passphrase)


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """What to sign: serials ``first_serial`` .. ``first_serial + count - 1`` of one
    certificate, at the instant ``now``, as URLs on ``host``: in the GS1 Digital Link form
    when ``gtin`` (the product's 14 digits) is given, else in the decimal form."""

    certificate_id: int
    stars: int
    valid_until: date
    first_serial: int
    count: int
    now: datetime
    host: str = "ocop.vn"
    error_correction: ErrorCorrection = "M"
    with_pngs: bool = False
    gtin: str | None = None

    def chunks(self, size: int = CHUNK) -> list[range]:
        """Return the serial ranges of the chunks, in order."""
        end = self.first_serial + self.count
        return [range(s, min(s + size, end)) for s in range(self.first_serial, end, size)]


_worker: dict[str, object] = {}


def _start_worker(source: KeySource, spec: BatchSpec) -> None:
    _worker["issuer"] = StampIssuer(source.private_key(), source.key)
    _worker["encoder"] = ChunkEncoder(
        spec.host, spec.error_correction, with_pngs=spec.with_pngs, gtin=spec.gtin
    )
    _worker["spec"] = spec


def _make_chunk(serials: range) -> StampChunk:
    issuer: StampIssuer = _worker["issuer"]  # type: ignore[assignment]
    encoder: ChunkEncoder = _worker["encoder"]  # type: ignore[assignment]
    spec: BatchSpec = _worker["spec"]  # type: ignore[assignment]
    index = issuer.key.index
    first = Payload(index, spec.certificate_id, spec.stars, spec.valid_until, serials.start)
    digits = issuer.sign_serials(first, len(serials), spec.now)
    return encoder.encode(index, spec.stars, serials, digits)


def signed_chunks(spec: BatchSpec, source: KeySource, *, workers: int = 2) -> Iterator[StampChunk]:
    """Yield the batch's stamps, signed and QR-encoded, chunk by chunk in serial order.

    Raises ``SigningRefused`` (before yielding anything) when the key may not sign this
    certificate's stamps now, and ``KeyLoadError`` for a key that does not load."""
    ranges = spec.chunks()
    _start_worker(source, spec)
    if ranges:  # refuse here, before any output, when the key may not sign these stamps
        _make_chunk(ranges[0][:1])
    if workers < 2 or spec.count < PARALLEL_FROM:
        yield from map(_make_chunk, ranges)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(source, spec)
    ) as pool:
        yield from pool.map(_make_chunk, ranges)
