"""The registry's tables (SQLAlchemy 2). Alembic migrations in store/migrations create them.

Over 400 lines because it is the schema, one class per table, read best in one place."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from signing import CertificateState, KeyStatus, VerdictCode


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)  # SQLite keeps the wall time only: make it UTC's

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class AuthorityKind(StrEnum):
    PROVINCE = "province"
    CENTRAL = "central"


class ProducerKind(StrEnum):
    ENTERPRISE = "enterprise"
    COOPERATIVE = "cooperative"
    COOPERATIVE_GROUP = "cooperative_group"
    HOUSEHOLD = "household"


class ProductGroup(StrEnum):
    """The six OCOP product groups (Decision 148/QĐ-TTg, 2023)."""

    FOOD = "food"
    BEVERAGE = "beverage"
    HERBAL = "herbal"
    HANDICRAFT = "handicraft"
    ORNAMENTAL = "ornamental"
    TOURISM = "tourism_service"


class BatchState(StrEnum):
    ISSUED = "issued"
    VOID = "void"


class Role(StrEnum):
    AUTHORITY = "authority"
    PRODUCER = "producer"
    INSPECTOR = "inspector"


def _enum(enum: type[StrEnum], length: int | None = None) -> Enum:
    """A column of ``enum``'s members, stored as their values in a VARCHAR as long as the
    longest (or ``length``): no database enum type, no CHECK constraint, as the migrations
    made it."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length or max(len(m.value) for m in enum),
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Authority(Base):
    """A provincial department (3-4 stars) or the central council (5 stars)."""

    __tablename__ = "authorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AuthorityKind] = mapped_column(_enum(AuthorityKind))
    province_code: Mapped[str | None] = mapped_column(String(8))

    keys: Mapped[list[SigningKey]] = relationship(back_populates="authority")


class SigningKey(Base):
    """A stamp-signing key: its public half, scope and serial counter. ``key_file`` says where
    the private half is: an encrypted file (its path relative to the data directory) or a key
    in a PKCS#11 token (a ``pkcs11:token=...;object=...`` URI)."""

    __tablename__ = "signing_keys"
    __table_args__ = (CheckConstraint("next_serial >= 1", name="next_serial_positive"),)

    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id"))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    stars: Mapped[str] = mapped_column(String(8))  # "3,4" or "5"
    not_before: Mapped[date] = mapped_column(Date)
    not_after: Mapped[date] = mapped_column(Date)
    status: Mapped[KeyStatus] = mapped_column(_enum(KeyStatus), default=KeyStatus.ACTIVE)
    last_serial: Mapped[int | None] = mapped_column(BigInteger)
    next_serial: Mapped[int] = mapped_column(BigInteger, default=1)
    key_file: Mapped[str | None] = mapped_column(String(300))

    authority: Mapped[Authority] = relationship(back_populates="keys", lazy="joined")

    @property
    def star_set(self) -> frozenset[int]:
        return frozenset(int(s) for s in self.stars.split(","))


class Producer(Base):
    __tablename__ = "producers"

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[ProducerKind] = mapped_column(_enum(ProducerKind))
    registration_number: Mapped[str] = mapped_column(String(32), unique=True)
    address: Mapped[str] = mapped_column(String(500))
    province_code: Mapped[str] = mapped_column(String(8))
    commune_code: Mapped[str | None] = mapped_column(String(16))
    gln: Mapped[str | None] = mapped_column(String(13))  # GS1 Global Location Number, if any
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    products: Mapped[list[Product]] = relationship(back_populates="producer")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    product_group: Mapped[ProductGroup] = mapped_column(_enum(ProductGroup))
    pack_description: Mapped[str] = mapped_column(String(500))
    gtin: Mapped[str | None] = mapped_column(String(14), index=True)  # resolved by /01/{gtin}
    label_photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    label_photo_type: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    producer: Mapped[Producer] = relationship(back_populates="products", lazy="joined")


class Certificate(Base):
    """An OCOP recognition. Its ``id`` is the certificate id signed into stamps."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 3 AND 5", name="stars_3_to_5"),
        CheckConstraint("id < 4294967296", name="id_fits_uint32"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id"))
    stars: Mapped[int] = mapped_column(Integer)
    decision_number: Mapped[str] = mapped_column(String(64))
    decision_date: Mapped[date] = mapped_column(Date)
    legal_basis: Mapped[str | None] = mapped_column(String(300))
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[CertificateState] = mapped_column(
        _enum(CertificateState), default=CertificateState.ACTIVE
    )
    revocation_decision: Mapped[str | None] = mapped_column(String(64))
    revocation_date: Mapped[date | None] = mapped_column(Date)
    revocation_reason: Mapped[str | None] = mapped_column(String(500))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    # the registry version of the certificate's last change, for incremental snapshots
    changed_version: Mapped[int] = mapped_column(Integer, default=0, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    product: Mapped[Product] = relationship(lazy="joined")
    authority: Mapped[Authority] = relationship(lazy="joined")


class Batch(Base):
    """A run of serials of one key, issued for one certificate."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint("first_serial >= 1 AND last_serial >= first_serial", name="range"),
        UniqueConstraint("key_index", "first_serial"),
        Index("ix_batches_key_range", "key_index", "first_serial", "last_serial"),
        Index("ix_batches_idempotency", "created_by", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    key_index: Mapped[int] = mapped_column(ForeignKey("signing_keys.index"))
    first_serial: Mapped[int] = mapped_column(BigInteger)
    last_serial: Mapped[int] = mapped_column(BigInteger)
    stars: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[date] = mapped_column(Date)
    state: Mapped[BatchState] = mapped_column(_enum(BatchState), default=BatchState.ISSUED)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    void_reason: Mapped[str | None] = mapped_column(String(500))
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # where the batch is sold: province codes, comma-separated ("01,79"); None: not declared
    markets: Mapped[str | None] = mapped_column(String(120))
    # an order sent with an Idempotency-Key: the key (one batch per key and token) and the
    # SHA-256 of the order, so that a retry finds this batch and another order is refused
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    order_digest: Mapped[str | None] = mapped_column(String(64))
    # the registry version of the batch's last change (voided), for status list changes
    changed_version: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # claims enabled: the secret every stamp's PIN is derived from (verifier.claims.pins);
    # never shown by any answer
    claim_secret: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    @property
    def market_codes(self) -> list[str]:
        return self.markets.split(",") if self.markets else []

    @property
    def count(self) -> int:
        return self.last_serial - self.first_serial + 1


class SigningState(StrEnum):
    """Where a :class:`SigningRequest` stands."""

    QUEUED = "queued"  # waiting for the signer
    SIGNING = "signing"  # taken by the signer, which stores its codes chunk by chunk
    SIGNED = "signed"  # every code stored
    REFUSED = "refused"  # the signer refused it: see ``reason`` and ``figures``
    FAILED = "failed"  # the signer could not finish (its key did not open, it stopped)
    ABANDONED = "abandoned"  # the public role stopped waiting before the signer took it


class SigningRequest(Base):
    """A request from the public role to sign serials of a batch, for the token that asked:
    the signer takes it, checks it against the registry itself and answers it (see
    :mod:`verifier.signer.batch_signer`)."""

    __tablename__ = "signing_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    first_serial: Mapped[int] = mapped_column(BigInteger)
    last_serial: Mapped[int] = mapped_column(BigInteger)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[SigningState] = mapped_column(
        _enum(SigningState), default=SigningState.QUEUED, index=True
    )
    reason: Mapped[str | None] = mapped_column(String(64))  # a refusal's reason code
    figures: Mapped[dict[str, int] | None] = mapped_column(JSON)  # and what it names
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SignedCodes(Base):
    """The signed codes of a request, one chunk per row from ``first_serial`` on: the stamps'
    digits, concatenated. Kept only until the public role has streamed them, at most
    ``SIGNED_CODES_KEPT`` (a file of signed codes is as good as printed stamps)."""

    __tablename__ = "signed_codes"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("signing_requests.id", ondelete="CASCADE"), primary_key=True
    )
    first_serial: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    digits: Mapped[str] = mapped_column(Text)


class Lot(Base):
    """A production lot of a product, as its producer (or the producer's authority) declared it
    (Circular 02/2024/TT-BKHCN): what the authority signs is the stamp, not this. ``origins``
    (the main raw materials: one step back), ``stages`` (processing: what, where, when) and
    ``documents`` (test results and the like) are lists of JSON objects, checked on the way in
    (``verifier.registry.lots``); stages are only ever added."""

    __tablename__ = "lots"
    __table_args__ = (UniqueConstraint("product_id", "lot_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    lot_number: Mapped[str] = mapped_column(String(20))  # GS1 AI (10): up to 20 characters
    produced_on: Mapped[date] = mapped_column(Date)
    best_before: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int | None] = mapped_column(Integer)
    quantity_unit: Mapped[str | None] = mapped_column(String(16))
    standards: Mapped[list[str]] = mapped_column(JSON, default=list)
    origins: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    declared_by: Mapped[str] = mapped_column(String(200))  # the actor's label, as audited
    declared_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # the registry version of the last change (recorded, a stage added, a batch linked), for
    # the registry snapshot's changes
    changed_version: Mapped[int] = mapped_column(Integer, default=0, index=True)

    product: Mapped[Product] = relationship(lazy="joined")


class BatchLot(Base):
    """A stamp batch labels this lot (a batch may label several lots, a lot take several
    batches)."""

    __tablename__ = "batch_lots"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), primary_key=True, index=True)


class BlockedSerials(Base):
    """Serials blocked as clones by an inspector or an authority; published in the status list."""

    __tablename__ = "blocked_serials"
    __table_args__ = (
        CheckConstraint("last_serial >= first_serial", name="range"),
        Index("ix_blocked_key_range", "key_index", "first_serial", "last_serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key_index: Mapped[int] = mapped_column(ForeignKey("signing_keys.index"))
    first_serial: Mapped[int] = mapped_column(BigInteger)
    last_serial: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # a block lifted (a mistake, a cleared investigation) stays on record but stops counting
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lift_reason: Mapped[str | None] = mapped_column(String(500))
    # the registry version of the last change (blocked, lifted), for status list changes
    changed_version: Mapped[int] = mapped_column(Integer, default=0, index=True)


class SerialScans(Base):
    """Scans of one serial, aggregated as they arrive, so a verdict never reads the history."""

    __tablename__ = "serial_scans"

    key_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    serial: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)
    devices: Mapped[int] = mapped_column(Integer, default=0)  # distinct phones
    places: Mapped[int] = mapped_column(Integer, default=0)  # distinct ~100 km cells
    last_latitude: Mapped[float | None] = mapped_column(Float)
    last_longitude: Mapped[float | None] = mapped_column(Float)
    last_located_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    flag: Mapped[str | None] = mapped_column(String(32))  # the clone rule it broke, if any
    away: Mapped[bool] = mapped_column(Boolean, default=False)  # scanned far from its markets
    # the scan recorder's flush that last changed the row (see verifier.scans.recorder.ScanRecorder)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class ScanFlush(Base):
    """What one flush of the scan recorder changed: the new aggregates of its serials as one
    JSON text, so that every worker follows the others' scans by reading one row per flush
    (kept for a while, then pruned; see verifier.scans.recorder.ScanRecorder)."""

    __tablename__ = "scan_flushes"

    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    rows: Mapped[str] = mapped_column(Text)


class SerialMark(Base):
    """The distinct phones (``d``, hashed) and places (``p``) that checked a serial."""

    __tablename__ = "serial_marks"

    key_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    serial: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    value: Mapped[str] = mapped_column(String(32), primary_key=True)


class Scan(Base):
    """One verification event."""

    __tablename__ = "scans"
    __table_args__ = (
        # the checks of signed-in callers, by caller and serial (an inspector blocks only a
        # serial it checked): partial, so the anonymous scans, nearly all, skip it
        Index(
            "ix_scans_signed_in_checks", "token_id", "key_index", "serial",
            postgresql_where=text("token_id IS NOT NULL"),
            sqlite_where=text("token_id IS NOT NULL"),
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    key_index: Mapped[int | None] = mapped_column(Integer)
    serial: Mapped[int | None] = mapped_column(BigInteger)
    verdict: Mapped[VerdictCode] = mapped_column(_enum(VerdictCode, length=16))
    role: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[int | None] = mapped_column(Integer)  # the signed-in caller's api_tokens.id
    # No index by serial: it costs every write a random B-tree insert, which slows
    # verification as events pile up (docs/operations.md); a serial's history is
    # read through ix_scans_at within its aggregate's time span (verifier/scans/findings.py).


class StampClaim(Base):
    """A stamp confirmed under its PIN: the first confirmation, and the later ones counted (a
    later one means the pack may have been refilled or its stamp re-used). One row per claimed
    stamp, written only by a correct PIN. What a buyer's claim keeps (docs/privacy.md): times,
    the province the buyer chose to name (no coordinates), the channel; no phone, no address."""

    __tablename__ = "stamp_claims"

    key_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    serial: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    first_province: Mapped[str | None] = mapped_column(String(2))
    first_channel: Mapped[str] = mapped_column(String(8))
    count: Mapped[int] = mapped_column(Integer, default=1)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_province: Mapped[str | None] = mapped_column(String(2))


class ClaimLock(Base):
    """Wrong PINs typed for one stamp: ``failures`` since ``window_start``; past a few, the
    stamp takes no PIN until ``locked_until`` (verifier.claims.claiming)."""

    __tablename__ = "claim_locks"

    key_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    serial: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ReportState(StrEnum):
    NEW = "new"
    INVESTIGATING = "investigating"
    CLOSED = "closed"


class Report(Base):
    """An inspector's report of misuse in a shop, filed from the scanner (possibly offline:
    ``client_id``, made on the phone, makes the upload idempotent)."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("token_id", "client_id", name="uq_reports_one_upload"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)  # on the phone
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    code: Mapped[str] = mapped_column(String(2048))
    key_index: Mapped[int | None] = mapped_column(Integer)
    serial: Mapped[int | None] = mapped_column(BigInteger)
    verdict: Mapped[VerdictCode] = mapped_column(_enum(VerdictCode, length=16))
    stars_seen: Mapped[int | None] = mapped_column(Integer)
    shop_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[ReportState] = mapped_column(_enum(ReportState), default=ReportState.NEW)
    authority_note: Mapped[str] = mapped_column(String(2000), default="")

    photos: Mapped[list[ReportPhoto]] = relationship(back_populates="report")


class ReportPhoto(Base):
    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    media_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    report: Mapped[Report] = relationship(back_populates="photos")


class ApiToken(Base):
    """A bearer token. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    label: Mapped[str] = mapped_column(String(200))
    authority_id: Mapped[int | None] = mapped_column(ForeignKey("authorities.id"))
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producers.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebSession(Base):
    """A browser signed in to the desk or the producer page with an API token. The cookie
    holds a random id; only its SHA-256 is stored, so the table opens no browser. The session
    ends at ``expires_at``, at sign-out (the row is deleted), or when its token is revoked."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class AuditEntry(Base):
    """Append-only record of every write: who, when, what, on which entity; chained by hash
    (see verifier/store/audit_chain.py)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CompressedForms(Base):
    """A signed document's gzip and brotli forms, made once by the signer that stored it (the
    document itself is in ``meta``), so that no public worker compresses it again; found by the
    document's SHA-256."""

    __tablename__ = "compressed_documents"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    gzip: Mapped[bytes] = mapped_column(LargeBinary)
    brotli: Mapped[bytes] = mapped_column(LargeBinary)


class Meta(Base):
    """Small key-value state: list versions and the like."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
