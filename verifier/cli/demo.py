"""``ocop demo``: a complete demo deployment in a data directory.

Keys (encrypted with the demo passphrase), an SQLite registry with producers, products and
certificates in every state, signed lists, and ``demo.json`` with the API tokens and one sample
stamp per verdict. Dates are relative to ``now``, so the demo is current whenever it is made.

Over 400 lines because it is mostly data: the demo's producers, products, certificates,
batches, keys and tokens, each written out through the registry as an operator would.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signing import KeyStatus, Payload, PrivateKey, sign_payload
from signing.dates import VIETNAM, vietnam_date
from signing.keys import b64url_encode
from verifier import registry
from verifier.claims.claiming import claim_stamp
from verifier.claims.pins import pin_of, printed_pin
from verifier.cli.common import STATUS_LIST_FILE, TRUST_LIST_FILE
from verifier.lists.registry_index import bump_version
from verifier.lists.signed_lists import stored_document
from verifier.scans.recorder import ScanEvent, ScanRecorder
from verifier.settings import DEFAULT_HOST, PASSPHRASE_VARIABLE, ROOT_PUBLIC_KEY_FILE
from verifier.signer import keyfiles
from verifier.signer.list_publisher import ListPublisher
from verifier.store.database import make_engine, migrate, session_factory, sqlite_url
from verifier.store.models import (
    Authority,
    AuthorityKind,
    Batch,
    Certificate,
    ProducerKind,
    ProductGroup,
    Role,
    SigningKey,
)


class DemoExists(Exception):
    """The data directory, or the database, already holds a deployment."""


@dataclass(frozen=True)
class _Key:
    name: str
    index: int | None
    authority: str | None
    stars: str


_KEYS = (
    _Key("root", None, None, ""),
    _Key("province-01", 1, "VN-01", "3,4"),
    _Key("central", 2, "VN-TW", "5"),
)
_INDEX = {k.name: k.index for k in _KEYS if k.index is not None}
# the demo's GS1 identifiers (valid check digits; the company prefix is made up)
DEMO_GTIN = "8935049500018"  # the honey
DEMO_GLN = "8935049500001"  # the cooperative and its workshop
DEMO_LOT = "MO-2026-05"


def _at(day: date) -> datetime:
    """Return 09:00 Vietnam time on ``day``: when a decision is recorded."""
    return datetime.combine(day, time(9), tzinfo=VIETNAM)


def _label(colour: tuple[int, int, int]) -> bytes:
    """Return a small JPEG that stands in for a label photo."""
    image = Image.new("RGB", (480, 320), colour)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((30, 30, 450, 290), radius=24, outline=(255, 255, 255), width=6)
    draw.ellipse((180, 100, 300, 220), outline=(255, 255, 255), width=6)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def create_demo(
    data_dir: Path, passphrase: bytes, now: datetime, *, database_url: str | None = None
) -> dict[str, Any]:
    """Build the demo in ``data_dir`` (its registry in ``database_url``, by default an SQLite
    file there) and return the content of ``demo.json``.

    Raises :class:`DemoExists` when the directory already holds a database or keys.
    """
    if (data_dir / "ocop.db").exists() or (data_dir / "keys").exists():
        raise DemoExists(f"{data_dir} already holds a deployment; choose an empty directory")
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url or sqlite_url(data_dir), writer=True)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(Authority)):
            engine.dispose()
            raise DemoExists("the database already holds a registry; give the demo an empty one")
    today = vietnam_date(now)
    keys = {k.name: PrivateKey.generate() for k in _KEYS}
    for name, key in keys.items():
        keyfiles.write_key(data_dir / "keys" / f"{name}.pem", key, passphrase)
    with sessions.begin() as session:
        state, story = _populate(session, keys, today)
    recorder = ScanRecorder(sessions)
    for event in story.scans:
        recorder.record(event)
    recorder.close()
    with sessions.begin() as session:  # blocks rest on the inspector's checks, now recorded
        story.block_copy(session)
        bump_version(session)  # the registry's first version, which the status list shows
    ListPublisher(sessions, sessions, keys["root"]).publish(now)  # as `ocop signer` would
    with sessions() as session:
        for name, file in (("trust-list", TRUST_LIST_FILE), ("status-list", STATUS_LIST_FILE)):
            (data_dir / file).write_bytes(stored_document(session, name) or b"")
    engine.dispose()

    (data_dir / ROOT_PUBLIC_KEY_FILE).write_text(b64url_encode(keys["root"].public_key) + "\n")
    demo = {
        "warning": "DEMO ONLY: the key passphrase is 'demo' and the tokens are printed here.",
        "passphrase_variable": PASSPHRASE_VARIABLE,
        "root_public_key": b64url_encode(keys["root"].public_key),
        "keys": [
            {
                "file": f"keys/{k.name}.pem",
                "index": k.index,
                "authority": k.authority,
                "stars": [int(s) for s in k.stars.split(",")] if k.stars else None,
                "role": "signs trust and status lists" if k.index is None else "signs stamps",
            }
            for k in _KEYS
        ],
        **state,
    }
    (data_dir / "demo.json").write_text(json.dumps(demo, ensure_ascii=False, indent=2) + "\n")
    return demo


def _actor(session: Session, token: str) -> registry.Actor:
    actor = registry.actor_for_token(session, token=token)
    if actor is None:  # pragma: no cover - the token was made a line before
        raise RuntimeError("demo token lookup failed")
    return actor


def _populate(
    session: Session, keys: dict[str, PrivateKey], today: date
) -> tuple[dict[str, Any], _Story]:
    """Fill the registry: two authorities and their keys, tokens, one cooperative and the
    story of each demo product. Returns the tokens and the sample stamps, and the story (its
    scans to record, then its block to make)."""
    hanoi = Authority(
        code="VN-01",
        name="Sở Nông nghiệp và Môi trường Hà Nội",
        kind=AuthorityKind.PROVINCE,
        province_code="01",
    )
    central = Authority(
        code="VN-TW",
        name="Hội đồng đánh giá, phân hạng sản phẩm OCOP cấp Trung ương",
        kind=AuthorityKind.CENTRAL,
    )
    session.add_all([hanoi, central])
    session.flush()
    for spec in _KEYS:
        if spec.index is None:
            continue
        session.add(
            SigningKey(
                index=spec.index,
                authority_id=hanoi.id if spec.authority == "VN-01" else central.id,
                public_key=keys[spec.name].public_key,
                stars=spec.stars,
                not_before=today - timedelta(days=4 * 365),
                not_after=today + timedelta(days=5 * 365),
                status=KeyStatus.ACTIVE,
                next_serial=1,
                key_file=f"keys/{spec.name}.pem",
            )
        )
    session.flush()

    start = _at(today - timedelta(days=3 * 365 + 200))
    authority, inspector = Role.AUTHORITY, Role.INSPECTOR
    tokens = {
        "authority_VN-01": registry.create_token(
            session,
            role=authority,
            label="Sở NN&MT Hà Nội (demo)",
            now=start,
            authority_id=hanoi.id,
        ),
        "authority_VN-TW": registry.create_token(
            session,
            role=authority,
            label="Hội đồng OCOP Trung ương (demo)",
            now=start,
            authority_id=central.id,
        ),
        "inspector": registry.create_token(
            session, role=inspector, label="Đội QLTT số 1 (demo)", now=start
        ),
    }
    producer = registry.register_producer(
        session,
        actor=_actor(session, tokens["authority_VN-01"]),
        now=start,
        legal_name="Hợp tác xã Nông nghiệp Ba Vì Xanh",
        kind=ProducerKind.COOPERATIVE,
        registration_number="0108123456",
        address="Thôn Muỗng, xã Ba Vì, Hà Nội",
        province_code="01",
        commune_code="09991",
        gln=DEMO_GLN,
    )
    tokens["producer"] = registry.create_token(
        session,
        role=Role.PRODUCER,
        label="HTX Ba Vì Xanh (demo)",
        now=start,
        producer_id=producer.id,
    )
    story = _Story(session, keys, today, start, producer.id, tokens)
    return {"tokens": tokens, **story.tell()}, story


class _Story:
    """The life of the demo products, replayed at their historical dates."""

    def __init__(
        self,
        session: Session,
        keys: dict[str, PrivateKey],
        today: date,
        start: datetime,
        producer_id: int,
        tokens: dict[str, str],
    ) -> None:
        self.session, self.keys, self.today, self.start = session, keys, today, start
        self.producer_id = producer_id
        self.hanoi = _actor(session, tokens["authority_VN-01"])
        self.central = _actor(session, tokens["authority_VN-TW"])
        self.inspector = _actor(session, tokens["inspector"])
        self.producer = _actor(session, tokens["producer"])
        self.samples: dict[str, str] = {}
        self.scans: list[ScanEvent] = []
        self.copy: tuple[int, int] = (0, 0)  # the serial the inspector finds copied

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)

    def product(
        self,
        name: str,
        group: ProductGroup,
        pack: str,
        colour: tuple[int, int, int],
        gtin: str | None = None,
    ) -> int:
        row = registry.register_product(
            self.session,
            actor=self.hanoi,
            producer_id=self.producer_id,
            now=self.start,
            name=name,
            product_group=group,
            pack_description=pack,
            gtin=gtin,
        )
        photo = _label(colour)
        registry.set_label_photo(
            self.session,
            actor=self.hanoi,
            product_id=row.id,
            photo=photo,
            content_type="image/jpeg",
            now=self.start,
        )
        return int(row.id)

    def certify(self, product_id: int, stars: int, days_ago: int, number: str) -> int:
        actor = self.central if stars == 5 else self.hanoi
        row = registry.register_certificate(
            self.session,
            actor=actor,
            product_id=product_id,
            stars=stars,
            decision_number=number,
            decision_date=self.day(days_ago),
            now=_at(self.day(days_ago)),
            legal_basis="Quyết định 148/QĐ-TTg ngày 24/02/2023",
        )
        return int(row.id)

    def batch(
        self,
        certificate_id: int,
        count: int,
        days_ago: int,
        markets: tuple[str, ...] = (),
        *,
        claims: bool = False,
    ) -> tuple[int, int]:
        """Order a batch (its stamps with PINs when ``claims``); return its id and first
        serial."""
        at = _at(self.day(days_ago))
        row = registry.allocate_batch(
            self.session,
            actor=self.producer,
            certificate_id=certificate_id,
            count=count,
            now=at,
            markets=markets,
            claims=claims,
        )
        return int(row.id), int(row.first_serial)

    def claims(self, certificate_id: int) -> dict[str, str]:
        """A batch printed with PINs, sold in Hà Nội: one stamp claimed in Hà Nội and again in
        Hồ Chí Minh City (the desk lists it), and one unclaimed, whose stamp URL and PIN the
        demo tells."""
        batch_id, first = self.batch(certificate_id, 40, 8, markets=("01",), claims=True)
        secret = registry.get(self.session, Batch, batch_id).claim_secret
        if secret is None:
            raise RuntimeError("the claims batch has no PIN secret")
        key_index = _INDEX["province-01"]
        for days_ago, province_code in ((6, "01"), (2, "79")):
            claim_stamp(self.session, key_index=key_index, serial=first + 3,
                        pin=pin_of(secret, key_index, first + 3), province_code=province_code,
                        channel="web", now=_at(self.day(days_ago)))  # fmt: skip
        self.sample("claim", certificate_id, first + 5)
        return {"url": self.samples.pop("claim"),
                "pin": printed_pin(pin_of(secret, key_index, first + 5))}  # fmt: skip

    def honey_lot(self, product_id: int, batch_id: int, days_ago: int) -> None:
        """The lot the honey's first batch labels, as the cooperative declared it: where the
        longan-flower honey came from, how it was processed, what it was tested for."""
        made = self.day(days_ago)
        lot = registry.record_lot(
            self.session, actor=self.producer, product_id=product_id, now=_at(made),
            lot_number=DEMO_LOT, produced_on=made, best_before=made + timedelta(days=730),
            quantity=500, quantity_unit="chai", standards=["TCVN 5267-1:2008", "VietGAHP"],
            origins=[registry.Origin(
                material="Mật ong hoa nhãn", province_code="33", commune_code="12196",
                supplier="Tổ hợp tác nuôi ong xã Khoái Châu", harvested_on=made - timedelta(9),
            )],
            stages=[
                registry.Stage(step="Thu mua và kiểm tra độ ẩm", place="Xưởng HTX Ba Vì Xanh",
                               province_code="01", at=_at(made - timedelta(days=8)),
                               gln=DEMO_GLN, trace_code=f"{DEMO_LOT}-TM"),
                registry.Stage(step="Lọc và hạ thủy phần", place="Xưởng HTX Ba Vì Xanh",
                               province_code="01", at=_at(made - timedelta(days=3)),
                               gln=DEMO_GLN, trace_code=f"{DEMO_LOT}-LOC"),
                registry.Stage(step="Đóng chai và dán tem", place="Xưởng HTX Ba Vì Xanh",
                               province_code="01", at=_at(made), gln=DEMO_GLN,
                               trace_code=f"{DEMO_LOT}-DC"),
            ],
            documents=[registry.LotDocument(
                title="Phiếu kết quả thử nghiệm độ ẩm, HMF, đường khử",
                issuer="Viện Kiểm nghiệm an toàn vệ sinh thực phẩm quốc gia",
                issued_on=made - timedelta(days=4), reference="KN-2026-0412",
            )],
        )  # fmt: skip
        batch = registry.get(self.session, Batch, batch_id)
        registry.label_lots(self.session, batch=batch, lot_ids=[lot.id])

    def scans_of_copies(self, key_index: int, copied: int, carried: range) -> None:
        """Scans that the desk should show: a copied stamp checked by inspectors on many phones
        across the country in two days, and stamps of a batch sold in Hà Nội checked by
        inspectors in Hồ Chí Minh (only witnesses' checks are evidence)."""
        places = ("21.03,105.85", "10.78,106.70", "16.05,108.20", "10.03,105.78")
        start = _at(self.day(2))
        for n in range(14):
            at = start + timedelta(hours=3 * n)
            self.scans.append(ScanEvent(at, (key_index, copied), "genuine", "inspector",
                                        f"demo-phone-{n}", places[n % 4]))  # fmt: skip
        for n, serial in enumerate(carried):
            at = start + timedelta(hours=5 * n)
            self.scans.append(ScanEvent(at, (key_index, serial), "genuine", "inspector",
                                        f"demo-buyer-{n}", places[1]))  # fmt: skip

    def sample(
        self,
        verdict: str,
        certificate_id: int,
        serial: int,
        key: str = "province-01",
        *,
        gtin: str | None = None,
    ) -> None:
        """Sign the stamp the printer would have made for this certificate and serial, in its
        GS1 Digital Link form when ``gtin`` is given."""
        certificate = registry.get(self.session, Certificate, certificate_id)
        payload = Payload(
            _INDEX[key], certificate_id, certificate.stars, certificate.valid_until, serial
        )
        stamp = sign_payload(payload, self.keys[key])
        url = stamp.url(DEFAULT_HOST) if gtin is None else stamp.gs1_url(DEFAULT_HOST, gtin)
        self.samples[verdict] = url

    def block_copy(self, session: Session) -> None:
        """The inspector blocks the copied stamp it checked at the market (after its scans are
        recorded: an inspector blocks only a serial it checked itself)."""
        key_index, serial = self.copy
        reason = "Phát hiện tem sao chép tại chợ Đồng Xuân"
        registry.block_serials(
            session,
            actor=self.inspector,
            key_index=key_index,
            first_serial=serial,
            last_serial=serial,
            reason=reason,
            now=_at(self.day(5)),
        )

    def tell(self) -> dict[str, Any]:
        session, hanoi = self.session, self.hanoi
        honey = self.product(
            "Mật ong hoa nhãn Ba Vì", ProductGroup.FOOD, "Chai thủy tinh 500 g", (176, 112, 20),
            gtin=DEMO_GTIN,
        )  # fmt: skip
        honey_cert = self.certify(honey, 4, 200, "2150/QĐ-UBND")
        honey_batch, first = self.batch(honey_cert, 500, 190, markets=("01",))
        self.honey_lot(honey, honey_batch, 195)
        claim = self.claims(honey_cert)
        self.sample("genuine", honey_cert, first + 17)
        self.sample("genuine_gs1", honey_cert, first + 18, gtin=registry.gtin_of(DEMO_GTIN))
        self.scans_of_copies(_INDEX["province-01"], first + 43, range(first + 200, first + 206))

        tea = self.product(
            "Trà shan tuyết cổ thụ", ProductGroup.BEVERAGE, "Hộp giấy 100 g", (40, 90, 50)
        )
        tea_cert = self.certify(tea, 5, 120, "512/QĐ-HĐTW")
        self.sample("genuine_5_stars", tea_cert, self.batch(tea_cert, 200, 100)[1], "central")

        noodles = self.product("Miến dong Ba Vì", ProductGroup.FOOD, "Túi 500 g", (150, 150, 140))
        noodle_cert = self.certify(noodles, 3, 3 * 365 + 150, "870/QĐ-UBND")
        self.sample("expired", noodle_cert, self.batch(noodle_cert, 100, 3 * 365 + 140)[1])
        registry.expire_certificates(session, now=_at(self.today))

        sausage = self.product(
            "Giò lụa truyền thống", ProductGroup.FOOD, "Cây 1 kg, hút chân không", (210, 190, 160)
        )
        sausage_cert = self.certify(sausage, 4, 400, "1422/QĐ-UBND")
        self.sample("revoked", sausage_cert, self.batch(sausage_cert, 100, 390)[1])
        registry.revoke_certificate(
            session,
            actor=hanoi,
            certificate_id=sausage_cert,
            decision="3310/QĐ-UBND",
            decision_date=self.day(20),
            reason="Vi phạm quy định về an toàn thực phẩm (hàn the vượt ngưỡng)",
            now=_at(self.day(20)),
        )

        sauce = self.product(
            "Tương bần Ba Vì", ProductGroup.FOOD, "Chai nhựa 500 ml", (120, 60, 20)
        )
        sauce_cert = self.certify(sauce, 4, 800, "560/QĐ-UBND")
        self.sample("star_mismatch", sauce_cert, self.batch(sauce_cert, 100, 790)[1])
        registry.reevaluate_certificate(
            session,
            actor=hanoi,
            certificate_id=sauce_cert,
            stars=3,
            decision_number="2987/QĐ-UBND",
            decision_date=self.day(30),
            now=_at(self.day(30)),
        )

        void_id, void_first = self.batch(honey_cert, 50, 60)
        registry.void_batch(
            session,
            actor=hanoi,
            batch_id=void_id,
            reason="Cuộn tem bị mất tại xưởng in",
            now=_at(self.day(50)),
        )
        self.sample("unregistered", honey_cert, void_first + 3)
        self.sample("unregistered_never_issued", honey_cert, 900_000)

        self.copy = (_INDEX["province-01"], first + 42)
        checked = _at(self.day(5)) - timedelta(minutes=10)  # at the market, signed in
        self.scans.append(ScanEvent(checked, self.copy, "genuine", "inspector",
                                    token_id=self.inspector.token_id))  # fmt: skip
        self.sample("suspected_clone", honey_cert, first + 42)

        forged = Payload(_INDEX["province-01"], honey_cert, 5, self.day(-300), 31337)
        self.samples["counterfeit"] = sign_payload(forged, PrivateKey.generate()).url(DEFAULT_HOST)
        self.samples["malformed"] = f"https://{DEFAULT_HOST}/s/1234567890"
        return {
            "samples": {name: url.split(DEFAULT_HOST, 1)[1] for name, url in self.samples.items()},
            "stamp_urls": self.samples,
            "claim": claim,
        }
