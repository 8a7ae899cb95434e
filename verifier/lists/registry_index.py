"""An in-memory snapshot of what a verdict needs from the registry, so answering a scan reads
no table: the issued serial ranges per key, each certificate as the public sees it, and the lot
summaries offline scanners show (the registry snapshot's ``lots``)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from signing import Payload, SerialRange
from signing.lists import follow_supersedes
from verifier.provinces import province
from verifier.store.models import (
    Batch,
    BatchLot,
    BatchState,
    BlockedSerials,
    Certificate,
    Lot,
    Meta,
)

VERSION_KEY = "registry-version"


@dataclass(frozen=True, slots=True)
class PublicProducer:
    name: str
    kind: str
    province_code: str
    address: str


@dataclass(frozen=True, slots=True)
class PublicProduct:
    id: int
    name: str
    group: str
    pack_description: str
    gtin: str | None
    has_label_photo: bool


@dataclass(frozen=True, slots=True)
class PublicCertificate:
    """A certificate as the verdict page and the API show it."""

    id: int
    issuer: str
    issuer_name: str
    status: str
    stars: int
    decision_number: str
    decision_date: date
    valid_until: date
    revocation_decision: str | None
    revocation_date: date | None
    revocation_reason: str | None
    renews: int | None
    superseded_by: int | None
    product: PublicProduct
    producer: PublicProducer
    changed_version: int = 0
    _json: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_json", self._public_json())  # every answer shows it

    @classmethod
    def of(cls, row: Certificate) -> PublicCertificate:
        product, producer = row.product, row.product.producer
        return cls(
            id=row.id,
            issuer=row.authority.code,
            issuer_name=row.authority.name,
            status=row.status,
            stars=row.stars,
            decision_number=row.decision_number,
            decision_date=row.decision_date,
            valid_until=row.valid_until,
            revocation_decision=row.revocation_decision,
            revocation_date=row.revocation_date,
            revocation_reason=row.revocation_reason,
            renews=row.replaces_id,
            superseded_by=row.superseded_by_id,
            changed_version=row.changed_version,
            product=PublicProduct(
                product.id,
                product.name,
                product.product_group,
                product.pack_description,
                product.gtin,
                product.label_photo_type is not None,
            ),
            producer=PublicProducer(
                producer.legal_name, producer.kind, producer.province_code, producer.address
            ),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the ``certificate`` object of the public JSON answer (made once, with the
        certificate, and shared: not to be changed)."""
        return self._json

    def _public_json(self) -> dict[str, Any]:
        revocation = None
        if self.revocation_decision is not None:
            revocation = {
                "decision": self.revocation_decision,
                "date": self.revocation_date.isoformat() if self.revocation_date else None,
                "reason": self.revocation_reason,
            }
        return {
            "certificate_id": self.id,
            "issuer": self.issuer,
            "issuer_name": self.issuer_name,
            "status": self.status,
            "stars": self.stars,
            "decision_number": self.decision_number,
            "decision_date": self.decision_date.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "revocation": revocation,
            "renews": self.renews,
            "product": {
                "id": self.product.id,
                "name": self.product.name,
                "group": self.product.group,
                "pack_description": self.product.pack_description,
                "gtin": self.product.gtin,
                "has_label_photo": self.product.has_label_photo,
            },
            "producer": {
                "name": self.producer.name,
                "kind": self.producer.kind,
                "province_code": self.producer.province_code,
                "address": self.producer.address,
            },
        }


class IssuedRange(NamedTuple):
    """One batch's serials, ``first`` to ``last`` (inclusive), the certificate they were
    issued for, whether the batch was voided, and whether its stamps were printed with PINs."""

    first: int
    last: int
    certificate_id: int
    voided: bool
    pins: bool = False


class ListedRange(NamedTuple):
    """Serials the status list publishes (blocked or voided), the registry version of their
    last change, and whether the block was lifted since."""

    serials: SerialRange
    changed_version: int
    lifted: bool = False


@dataclass(frozen=True, slots=True)
class LotSummary:
    """A lot labelled by at least one batch, in short, as offline scanners show it for a stamp
    of those batches: the producer's declaration (its number and dates, the provinces its main
    raw materials come from by name, each once, how many processing stages, the standards
    applied), the batches as (key index, first serial, last serial), and the registry version
    of the lot's last change."""

    id: int
    lot_number: str
    produced_on: date
    best_before: date | None
    expires_on: date | None
    origins: tuple[str, ...]
    stages: int
    standards: tuple[str, ...]
    batches: tuple[tuple[int, int, int], ...]
    changed_version: int = 0


@dataclass(frozen=True, slots=True)
class _KeyBatches:
    """One key's batches in the order of their first serials (``firsts`` for bisecting)."""

    firsts: list[int] = field(default_factory=list)
    ranges: list[IssuedRange] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RegistryIndex:
    """The registry at one version. Build with :meth:`load`, bring up to date with
    :meth:`updated`. ``blocked`` holds every blocked range by its row id (lifted ones too, for
    the status list's changes); ``voided`` every voided batch by its id; ``lots`` every lot
    a batch labels, by its id."""

    version: int
    certificates: dict[int, PublicCertificate]
    batches: dict[int, _KeyBatches]
    blocked: dict[int, ListedRange] = field(default_factory=dict)
    voided: dict[int, ListedRange] = field(default_factory=dict)
    lots: dict[int, LotSummary] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> RegistryIndex:
        """Read every certificate, batch, blocked range and labelled lot (one query each, the
        lots two)."""
        # The version first: under READ COMMITTED a write may land between the queries, so
        # what is read after it is at least as new as the version the index claims. The
        # status list's changes since that version then repeat such a write, never miss it.
        version = current_version(session)
        certificates = {
            row.id: PublicCertificate.of(row) for row in session.scalars(select(Certificate))
        }
        batches, voided = _batches_of(session, None)
        blocked, lots = _blocked_since(session, None), _lots_since(session, None)
        return cls(version, certificates, batches, blocked, voided, lots)

    def updated(self, session: Session) -> RegistryIndex:
        """Return the index at the registry's current version, reading only the rows that
        writes marked with a later version than this one's (``changed_version``): itself when
        nothing was written since."""
        version = current_version(session)  # first, as in load
        if version == self.version:
            return self
        since = self.version
        certificates = dict(self.certificates)
        certificates.update(
            (row.id, PublicCertificate.of(row))
            for row in session.scalars(
                select(Certificate).where(Certificate.changed_version > since)
            )
        )
        keys = set(
            session.scalars(select(Batch.key_index).where(Batch.changed_version > since).distinct())
        )
        batches = dict(self.batches)
        voided = {i: v for i, v in self.voided.items() if v.serials.key_index not in keys}
        if keys:
            reread, reread_voided = _batches_of(session, keys)
            batches.update(reread)
            voided.update(reread_voided)
        blocked = {**self.blocked, **_blocked_since(session, since)}
        lots = {**self.lots, **_lots_since(session, since)}  # a lot's batches are never unlinked
        return RegistryIndex(version, certificates, batches, blocked, voided, lots)

    def batch_of(self, key_index: int, serial: int) -> IssuedRange | None:
        """Return the issued range (a batch) holding the serial, or ``None`` when none does."""
        entry = self.batches.get(key_index)
        if entry is None:
            return None
        position = bisect_right(entry.firsts, serial) - 1
        if position < 0:
            return None
        issued = entry.ranges[position]
        return issued if serial <= issued.last else None

    def reasons(self, payload: Payload) -> tuple[str, ...]:
        """Return the registry's reasons against a signed stamp: its serial was never issued
        for its certificate, or its batch was voided (empty when neither)."""
        batch = self.batch_of(payload.key_index, payload.serial)
        if batch is None or batch.certificate_id != payload.certificate_id:
            return ("serial_not_issued",)
        return ("batch_voided",) if batch.voided else ()

    def current(self, certificate_id: int, issuer: str) -> PublicCertificate | None:
        """Return the certificate a stamp of ``issuer``'s key names, following re-evaluations
        to the current one (which may be another authority's); ``None`` when ``issuer`` did
        not issue ``certificate_id``."""
        certificate = self.certificates.get(certificate_id)
        if certificate is None or certificate.issuer != issuer:
            return None
        return follow_supersedes(certificate, self.certificates)


def current_version(session: Session) -> int:
    """Return the registry's version: it grows with every write."""
    row = session.get(Meta, VERSION_KEY)
    return 0 if row is None else int(row.value)


def bump_version(session: Session) -> int:
    """Count a write (called in the write's own transaction). Returns the new version."""
    row = session.get(Meta, VERSION_KEY, with_for_update=True)
    version = 1 if row is None else int(row.value) + 1
    session.merge(Meta(key=VERSION_KEY, value=str(version)))
    return version


def _batches_of(
    session: Session, keys: set[int] | None
) -> tuple[dict[int, _KeyBatches], dict[int, ListedRange]]:
    """Return the batches of the keys ``keys`` (of every key for ``None``) by key, and the
    voided ones among them by batch id."""
    query = select(
        Batch.id,
        Batch.key_index,
        Batch.first_serial,
        Batch.last_serial,
        Batch.certificate_id,
        Batch.state,
        Batch.void_reason,
        Batch.changed_version,
        Batch.claim_secret.is_not(None),
    ).order_by(Batch.key_index, Batch.first_serial)
    if keys is not None:
        query = query.where(Batch.key_index.in_(keys))
    batches: dict[int, _KeyBatches] = {}
    voided: dict[int, ListedRange] = {}
    rows = session.execute(query)
    for batch_id, key_index, first, last, certificate_id, state, reason, changed, pins in rows:
        entry = batches.setdefault(key_index, _KeyBatches())
        entry.firsts.append(first)
        is_void = state == BatchState.VOID
        entry.ranges.append(IssuedRange(first, last, certificate_id, is_void, bool(pins)))
        if is_void:
            voided[batch_id] = ListedRange(SerialRange(key_index, first, last, reason), changed)
    return batches, voided


def _blocked_since(session: Session, since: int | None) -> dict[int, ListedRange]:
    """Return the blocked ranges changed after version ``since`` (all for ``None``) by id."""
    query = select(BlockedSerials).order_by(BlockedSerials.id)
    if since is not None:
        query = query.where(BlockedSerials.changed_version > since)
    return {
        b.id: ListedRange(
            SerialRange(b.key_index, b.first_serial, b.last_serial, b.reason),
            b.changed_version,
            b.lifted_at is not None,
        )
        for b in session.scalars(query)
    }


def _lots_since(session: Session, since: int | None) -> dict[int, LotSummary]:
    """Return the lots changed after version ``since`` (all for ``None``) that a batch labels,
    by id, each with its batches' serials."""
    links = select(BatchLot.lot_id, Batch.key_index, Batch.first_serial, Batch.last_serial)
    links = links.join(Batch, Batch.id == BatchLot.batch_id)
    columns = (Lot.id, Lot.lot_number, Lot.produced_on, Lot.best_before, Lot.expires_on,
               Lot.origins, Lot.stages, Lot.standards, Lot.changed_version)  # fmt: skip
    query = select(*columns).where(Lot.id.in_(select(BatchLot.lot_id)))
    if since is not None:
        links = links.join(Lot, Lot.id == BatchLot.lot_id).where(Lot.changed_version > since)
        query = query.where(Lot.changed_version > since)
    batches: dict[int, list[tuple[int, int, int]]] = {}
    order = (BatchLot.lot_id, Batch.key_index, Batch.first_serial)
    for lot_id, key_index, first, last in session.execute(links.order_by(*order)):
        batches.setdefault(lot_id, []).append((key_index, first, last))
    return {
        row.id: LotSummary(
            id=row.id,
            lot_number=row.lot_number,
            produced_on=row.produced_on,
            best_before=row.best_before,
            expires_on=row.expires_on,
            origins=tuple(dict.fromkeys(_province_name(o["province_code"]) for o in row.origins)),
            stages=len(row.stages),
            standards=tuple(row.standards),
            batches=tuple(batches.get(row.id, ())),
            changed_version=row.changed_version,
        )
        for row in session.execute(query.order_by(Lot.id))
    }


def _province_name(code: str) -> str:
    """Return the name of the province ``code`` (the code itself for one no longer known)."""
    known = province(code)
    return code if known is None else known.name
