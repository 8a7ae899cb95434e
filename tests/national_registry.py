"""A registry of national size, for benchmarks and browser tests: ``ocop demo``'s deployment,
then, in one transaction of bulk inserts through the registry's models, the authorities and
stamp keys of all 34 provinces (the demo's Hà Nội and central council included), producers,
products, certificates in every state with their stamp batches, blocked serials and voided
batches, a production lot for each product labelled by its batches (tests/national_lots.py);
then the signed lists republished, as every registry write does.

What is added keeps the registry's sense: each certificate's batches are on its authority's key,
serials follow each key's counter without overlap, a blocked serial lies in an issued batch of
its key, a superseded certificate names its successor (the same product, recorded later, by the
same authority or by the central council for 5 stars). Random choices come from one seed, so the
same shape gives the same registry.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from signing import CertificateState, KeyStatus, Payload, PrivateKey
from signing.dates import RECOGNITION_MONTHS, VIETNAM, add_months, vietnam_date
from tests.national_lots import add_lots
from verifier.cli.common import STATUS_LIST_FILE, TRUST_LIST_FILE
from verifier.cli.demo import create_demo
from verifier.lists.registry_index import bump_version
from verifier.lists.signed_lists import stored_document
from verifier.provinces import PROVINCES
from verifier.settings import ROOT_KEY_FILE
from verifier.signer import keyfiles
from verifier.signer.list_publisher import ListPublisher
from verifier.store.database import make_engine, session_factory, sqlite_url
from verifier.store.models import (
    Authority,
    AuthorityKind,
    Batch,
    BatchState,
    BlockedSerials,
    Certificate,
    Lot,
    Producer,
    ProducerKind,
    Product,
    ProductGroup,
    SigningKey,
)

PASSPHRASE = b"demo"  # the demo's: the keys added here are encrypted with it too


@dataclass(frozen=True, slots=True)
class NationalShape:
    """How big a registry is: its certificates, blocked serials and voided batches (totals,
    the demo's own included)."""

    certificates: int
    blocked: int
    voided: int

    @classmethod
    def of(cls, certificates: int) -> NationalShape:
        """Return the shape measured for ``certificates`` (:data:`SHAPES`), or the nearest
        measured one's proportions scaled to it."""
        if certificates in SHAPES:
            return SHAPES[certificates]
        near = min(SHAPES.values(), key=lambda s: abs(s.certificates - certificates))
        scale = certificates / near.certificates
        return cls(
            certificates, max(1, round(near.blocked * scale)), max(1, round(near.voided * scale))
        )


# Vietnam's OCOP registry today, and the size the scanner must still work at offline.
SHAPES = {
    15_000: NationalShape(15_000, 2_002, 301),
    50_000: NationalShape(50_000, 20_000, 2_000),
}


@dataclass(frozen=True, slots=True)
class NationalRegistry:
    """What was built: the demo's ``demo.json`` content, the shape, and for each kind of row
    how many the registry holds in all."""

    demo: dict[str, Any]
    shape: NationalShape
    authorities: int
    keys: int
    producers: int
    products: int
    batches: int
    lots: int
    states: dict[CertificateState, int]
    revocable: tuple[Payload, ...]
    """Stamps of active Hà Nội certificates on the demo's key ``province-01`` (one per
    certificate, each a serial of an issued batch): a bench revokes them one by one with the
    demo's ``authority_VN-01`` token and signs their stamps with ``keys/province-01.pem``."""


_PLACES = ("Ba Vì", "Mộc Châu", "Sa Pa", "Đồng Tháp Mười", "Bến Tre", "Phú Quốc", "Tân Cương",
           "Hạ Long", "Đà Lạt", "Buôn Ma Thuột", "Ninh Thuận", "Cà Mau", "Hội An", "Mù Cang Chải",
           "Thanh Chương", "Lý Sơn", "Cao Phong", "Hưng Yên", "Vĩnh Long", "Bảo Lộc")  # fmt: skip
_GOODS = (
    ("Mật ong hoa nhãn", ProductGroup.FOOD, "Chai thủy tinh 500 g"),
    ("Trà shan tuyết cổ thụ", ProductGroup.BEVERAGE, "Hộp giấy 100 g"),
    ("Cà phê rang xay nguyên chất", ProductGroup.BEVERAGE, "Túi zip 250 g"),
    ("Nước mắm cá cơm truyền thống", ProductGroup.FOOD, "Chai nhựa 500 ml"),
    ("Gạo ST25 hữu cơ", ProductGroup.FOOD, "Túi 5 kg"),
    ("Miến dong", ProductGroup.FOOD, "Túi 500 g"),
    ("Tinh dầu sả chanh", ProductGroup.HERBAL, "Lọ thủy tinh 50 ml"),
    ("Cao dược liệu an thần", ProductGroup.HERBAL, "Hộp 10 gói"),
    ("Giỏ mây tre đan", ProductGroup.HANDICRAFT, "Chiếc, đường kính 30 cm"),
    ("Lụa tơ tằm dệt tay", ProductGroup.HANDICRAFT, "Khăn 180 x 60 cm"),
    ("Lan hồ điệp chậu", ProductGroup.ORNAMENTAL, "Chậu sứ 5 cành"),
    ("Du lịch cộng đồng bản", ProductGroup.TOURISM, "Tour trải nghiệm một ngày"),
    ("Bánh pía sầu riêng", ProductGroup.FOOD, "Hộp 4 cái, 400 g"),
    ("Rượu ngô men lá", ProductGroup.BEVERAGE, "Chai 500 ml, 29 độ"),
)
_FORMS = (
    ("Hợp tác xã Nông nghiệp", ProducerKind.COOPERATIVE),
    ("Công ty TNHH Nông sản", ProducerKind.ENTERPRISE),
    ("Tổ hợp tác sản xuất", ProducerKind.COOPERATIVE_GROUP),
    ("Hộ kinh doanh", ProducerKind.HOUSEHOLD),
)
_BATCH_SIZES = (200, 500, 1_000, 2_000, 5_000)


@dataclass
class _Lineage:
    """One product's certificates: one, or an old one superseded by its successor."""

    authority: int
    product: int
    states: tuple[CertificateState, ...]


def build_national_registry(
    data_dir: Path, shape: NationalShape, now: datetime, *, seed: int = 17
) -> NationalRegistry:
    """Create the demo deployment in the empty ``data_dir`` (SQLite) and grow it to ``shape``;
    return what it holds. Raises :class:`verifier.cli.demo.DemoExists` when ``data_dir``
    already holds a deployment and ``ValueError`` for a shape smaller than the demo's own."""
    demo = create_demo(data_dir, PASSPHRASE, now)
    engine = make_engine(sqlite_url(data_dir), writer=True)
    sessions = session_factory(engine)
    try:
        with sessions.begin() as session:
            revocable = _Grower(session, data_dir, shape, now, random.Random(seed)).grow()
            bump_version(session)
        root = keyfiles.read_key(data_dir / ROOT_KEY_FILE, PASSPHRASE)
        ListPublisher(sessions, sessions, root).publish(now)
        with sessions() as session:
            for name, file in (("trust-list", TRUST_LIST_FILE), ("status-list", STATUS_LIST_FILE)):
                (data_dir / file).write_bytes(stored_document(session, name) or b"")
        with sessions() as session:
            return NationalRegistry(
                demo=demo,
                shape=shape,
                authorities=_count(session, Authority),
                keys=_count(session, SigningKey),
                producers=_count(session, Producer),
                products=_count(session, Product),
                batches=_count(session, Batch),
                lots=_count(session, Lot),
                states=dict(
                    Counter(session.scalars(select(Certificate.status)).all()).most_common()
                ),
                revocable=revocable,
            )
    finally:
        engine.dispose()


def _count(session: Session, model: type[Any], *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _next_id(session: Session, column: Any) -> int:
    return int(session.scalar(select(func.max(column))) or 0) + 1


class _Grower:
    """Adds the national rows to the demo's registry in the caller's transaction."""

    def __init__(
        self,
        session: Session,
        data_dir: Path,
        shape: NationalShape,
        now: datetime,
        rng: random.Random,
    ) -> None:
        self.session, self.data_dir, self.shape, self.now, self.rng = (
            session, data_dir, shape, now, rng,
        )  # fmt: skip
        self.today = vietnam_date(now)
        self.keys: dict[int, SigningKey] = {}  # authority id -> its stamp key
        self.province: dict[int, str | None] = {}  # authority id -> province code
        self.next_serial: dict[int, int] = {}  # key index -> next free serial
        self.central = 0

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)

    def at(self, day: date) -> datetime:
        return datetime.combine(day, time(9), tzinfo=VIETNAM)

    def grow(self) -> tuple[Payload, ...]:
        have = _count(self.session, Certificate)
        if self.shape.certificates < have:
            raise ValueError(f"the demo alone holds {have} certificates")
        self._authorities()
        first_product = _next_id(self.session, Product.id)
        lineages = self._lineages(self.shape.certificates - have)
        certificates = self._certificates(lineages)
        issued = self._batches(certificates)
        self._voided(certificates)
        self._blocked(issued)
        add_lots(self.session, self.rng, self.today, first_product)  # last: the rest as before
        for index, serial in self.next_serial.items():
            self.session.get_one(SigningKey, index).next_serial = serial
        return self._revocable(certificates, issued)

    def _authorities(self) -> None:
        """Every province's authority with one stamp key (the demo made Hà Nội's and the
        central council's)."""
        for authority in self.session.scalars(select(Authority)):
            self.province[authority.id] = authority.province_code
            if authority.kind is AuthorityKind.CENTRAL:
                self.central = authority.id
        for key in self.session.scalars(select(SigningKey)):
            self.keys[key.authority_id] = key
            self.next_serial[key.index] = key.next_serial
        authority_id = _next_id(self.session, Authority.id)
        index = _next_id(self.session, SigningKey.index)
        held = set(self.province.values())
        for province in PROVINCES.values():
            if province.code in held:
                continue
            self.session.add(
                Authority(
                    id=authority_id,
                    code=f"VN-{province.code}",
                    name=f"Sở Nông nghiệp và Môi trường {province.name}",
                    kind=AuthorityKind.PROVINCE,
                    province_code=province.code,
                )
            )
            private = PrivateKey.generate()
            key_file = f"keys/province-{province.code}.pem"
            keyfiles.write_key(self.data_dir / key_file, private, PASSPHRASE)
            key = SigningKey(
                index=index,
                authority_id=authority_id,
                public_key=private.public_key,
                stars="3,4",
                not_before=self.day(4 * 365),
                not_after=self.day(-5 * 365),
                status=KeyStatus.ACTIVE,
                next_serial=1,
                key_file=key_file,
            )
            self.session.add(key)
            self.keys[authority_id], self.province[authority_id] = key, province.code
            self.next_serial[index] = 1
            authority_id, index = authority_id + 1, index + 1
        self.session.flush()

    def _lineages(self, count: int) -> list[_Lineage]:
        """The products to certify and their certificates' states: about 5 % of certificates
        superseded (each with its successor), 8 % expired, 2 % revoked, the rest active."""
        pairs = round(count * 0.05)
        singles = count - 2 * pairs
        states = (
            [CertificateState.EXPIRED] * round(count * 0.08)
            + [CertificateState.REVOKED] * round(count * 0.02)
        )[:singles]
        states += [CertificateState.ACTIVE] * (singles - len(states))
        kinds = [(s,) for s in states] + [
            (CertificateState.SUPERSEDED, CertificateState.ACTIVE)
        ] * pairs
        self.rng.shuffle(kinds)
        provinces = [a for a in self.keys if a != self.central]
        weights = [3.0 if self.province[a] in ("01", "79") else 1.0 for a in provinces]
        producer_id = _next_id(self.session, Producer.id)
        product_id = _next_id(self.session, Product.id)
        producers: list[dict[str, Any]] = []
        products: list[dict[str, Any]] = []
        lineages: list[_Lineage] = []
        for kind in kinds:
            five = kind[0] is not CertificateState.SUPERSEDED and self.rng.random() < 0.08
            authority = self.central if five else self.rng.choices(provinces, weights)[0]
            if not producers or self.rng.random() < 0.4:
                province = self.province[authority] or self.rng.choice(list(PROVINCES))
                form, producer_kind = self.rng.choice(_FORMS)
                place = self.rng.choice(_PLACES)
                producers.append({
                    "id": producer_id + len(producers),
                    "legal_name": f"{form} {place} {len(producers) + 1}",
                    "kind": producer_kind,
                    "registration_number": f"9{producer_id + len(producers):09d}",
                    "address": f"Thôn {self.rng.randint(1, 12)}, xã {place}",
                    "province_code": province,
                    "commune_code": None,
                    "created_at": self.at(self.day(1500)),
                })  # fmt: skip
            good, group, pack = self.rng.choice(_GOODS)
            products.append({
                "id": product_id + len(products),
                "producer_id": producers[-1]["id"],
                "name": f"{good} {self.rng.choice(_PLACES)}",
                "product_group": group,
                "pack_description": pack,
                "created_at": self.at(self.day(1500)),
            })  # fmt: skip
            lineages.append(_Lineage(authority, products[-1]["id"], kind))
        self.session.execute(insert(Producer), producers)
        self.session.execute(insert(Product), products)
        return lineages

    def _certificates(self, lineages: list[_Lineage]) -> list[dict[str, Any]]:
        next_id = _next_id(self.session, Certificate.id)
        rows: list[dict[str, Any]] = []
        for lineage in lineages:
            first = lineage.states[0]
            if first is CertificateState.EXPIRED:
                decided = self.day(self.rng.randint(1110, 1400))
            elif first is CertificateState.SUPERSEDED:
                decided = self.day(self.rng.randint(400, 1000))
            else:
                decided = self.day(self.rng.randint(1, 1000))
            authority = lineage.authority
            stars = 5 if authority == self.central else self.rng.choice((3, 3, 4))
            for n, state in enumerate(lineage.states):
                row = {
                    "id": next_id + len(rows),
                    "product_id": lineage.product,
                    "authority_id": authority,
                    "stars": stars,
                    "decision_number": f"{self.rng.randint(100, 4999)}/QĐ-"
                    + ("HĐTW" if authority == self.central else "UBND"),
                    "decision_date": decided,
                    "legal_basis": "Quyết định 148/QĐ-TTg ngày 24/02/2023",
                    "valid_until": add_months(decided, RECOGNITION_MONTHS),
                    "status": state,
                    "replaces_id": rows[-1]["id"] if n else None,
                    "superseded_by_id": None,
                    "revocation_decision": None,
                    "revocation_date": None,
                    "revocation_reason": None,
                    "created_at": self.at(decided),
                }
                if state is CertificateState.REVOKED:
                    revoked = decided + timedelta(
                        days=self.rng.randint(1, (self.today - decided).days)
                    )
                    row |= {
                        "revocation_decision": f"{self.rng.randint(100, 4999)}/QĐ-UBND",
                        "revocation_date": revoked,
                        "revocation_reason": "Không duy trì tiêu chuẩn sản phẩm OCOP",
                    }
                if n:
                    rows[-1]["superseded_by_id"] = row["id"]
                rows.append(row)
                if state is CertificateState.SUPERSEDED:
                    # re-evaluated later: to 5 stars by the central council at times
                    decided += timedelta(days=self.rng.randint(30, (self.today - decided).days))
                    if self.rng.random() < 0.2:
                        authority = self.central
                    stars = 5 if authority == self.central else self.rng.choice((3, 4))
        # a successor is inserted after the certificate it supersedes: name it once both exist
        successors = [{"id": r["id"], "superseded_by_id": r.pop("superseded_by_id")} for r in rows]
        self.session.execute(insert(Certificate), rows)
        self.session.execute(
            update(Certificate), [s for s in successors if s["superseded_by_id"] is not None]
        )
        return rows

    def _allocate(
        self, certificate: dict[str, Any], count: int, state: BatchState
    ) -> dict[str, Any]:
        """A batch of ``count`` serials for ``certificate`` on its authority's key."""
        key = self.keys[certificate["authority_id"]]
        first = self.next_serial[key.index]
        self.next_serial[key.index] = first + count
        ordered = min(
            self.today, certificate["decision_date"] + timedelta(days=self.rng.randint(1, 60))
        )
        return {
            "certificate_id": certificate["id"],
            "key_index": key.index,
            "first_serial": first,
            "last_serial": first + count - 1,
            "stars": certificate["stars"],
            "valid_until": certificate["valid_until"],
            "state": state,
            "created_at": self.at(ordered),
            "markets": self.province[certificate["authority_id"]],
        }

    def _batches(self, certificates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One or two issued batches per certificate; returns them."""
        rows = []
        for certificate in certificates:
            for _ in range(1 if self.rng.random() < 0.6 else 2):
                rows.append(
                    self._allocate(certificate, self.rng.choice(_BATCH_SIZES), BatchState.ISSUED)
                )
        self.session.execute(insert(Batch), rows)
        return rows

    def _voided(self, certificates: list[dict[str, Any]]) -> None:
        """Batches lost or misprinted, voided by their authority, up to the shape's total."""
        missing = self.shape.voided - _count(self.session, Batch, Batch.state == BatchState.VOID)
        rows = []
        for certificate in self.rng.sample(certificates, max(0, missing)):
            row = self._allocate(certificate, self.rng.choice(_BATCH_SIZES), BatchState.VOID)
            row |= {"void_reason": "Cuộn tem bị mất tại xưởng in", "voided_at": row["created_at"]}
            rows.append(row)
        if rows:
            self.session.execute(insert(Batch), rows)

    def _blocked(self, issued: list[dict[str, Any]]) -> None:
        """Single serials of issued batches blocked as copied, up to the shape's total."""
        lifted = BlockedSerials.lifted_at.is_(None)
        missing = self.shape.blocked - _count(self.session, BlockedSerials, lifted)
        seen: set[tuple[int, int]] = set()
        rows: list[dict[str, Any]] = []
        while len(rows) < missing:
            batch = self.rng.choice(issued)
            serial = self.rng.randint(batch["first_serial"], batch["last_serial"])
            if (batch["key_index"], serial) in seen:
                continue
            seen.add((batch["key_index"], serial))
            rows.append({
                "key_index": batch["key_index"],
                "first_serial": serial,
                "last_serial": serial,
                "reason": "Phát hiện tem sao chép",
                "created_at": batch["created_at"] + timedelta(days=30),
            })  # fmt: skip
        if rows:
            self.session.execute(insert(BlockedSerials), rows)

    def _revocable(
        self, certificates: list[dict[str, Any]], issued: list[dict[str, Any]]
    ) -> tuple[Payload, ...]:
        hanoi_key = next(k.index for a, k in self.keys.items() if self.province[a] == "01")
        batches = {b["certificate_id"]: b for b in issued}
        return tuple(
            Payload(
                hanoi_key, c["id"], c["stars"], c["valid_until"], batches[c["id"]]["first_serial"]
            )
            for c in certificates
            if c["status"] is CertificateState.ACTIVE
            and self.keys[c["authority_id"]].index == hanoi_key
        )[:20]
