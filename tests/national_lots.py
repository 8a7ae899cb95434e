"""Production lots for the national-size registry (tests/national_registry.py): one lot for each
product with stamp batches, labelled by all of them, declared as a producer would declare it: the
lot number and dates, the standards applied, one or two main raw materials (from the producer's
province mostly, with a supplier and a harvest date) and two or three processing stages."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from signing.dates import VIETNAM, format_time
from verifier.provinces import PROVINCES
from verifier.store.models import Batch, BatchLot, Certificate, Lot, Producer, Product, ProductGroup

# each good of the national registry's products (named "{good} {place}") and its raw materials
_MATERIALS = {
    "Mật ong hoa nhãn": ("Mật ong hoa nhãn", "Sáp ong"),
    "Trà shan tuyết cổ thụ": ("Búp chè shan tuyết", "Lá chè bánh tẻ"),
    "Cà phê rang xay nguyên chất": ("Cà phê Robusta nhân xanh", "Cà phê Arabica nhân xanh"),
    "Nước mắm cá cơm truyền thống": ("Cá cơm than", "Muối biển"),
    "Gạo ST25 hữu cơ": ("Lúa ST25",),
    "Miến dong": ("Củ dong riềng", "Tinh bột dong"),
    "Tinh dầu sả chanh": ("Lá sả chanh",),
    "Cao dược liệu an thần": ("Lá vông nem", "Tâm sen", "Lạc tiên"),
    "Giỏ mây tre đan": ("Mây nếp", "Tre gai"),
    "Lụa tơ tằm dệt tay": ("Kén tằm", "Tơ tằm sống"),
    "Lan hồ điệp chậu": ("Cây giống lan hồ điệp", "Giá thể dớn"),
    "Du lịch cộng đồng bản": ("Nông sản địa phương",),
    "Bánh pía sầu riêng": ("Sầu riêng Ri6", "Đậu xanh", "Bột mì"),
    "Rượu ngô men lá": ("Ngô nếp", "Men lá"),
}
_STAGES = ("Thu mua và kiểm tra nguyên liệu", "Sơ chế và làm sạch", "Chế biến",
           "Kiểm tra chất lượng thành phẩm")  # fmt: skip
_LAST_STAGE = "Đóng gói và dán tem"
_STANDARDS = {
    ProductGroup.FOOD: ("TCVN 5603:2008 (HACCP)", "VietGAP", "ISO 22000:2018"),
    ProductGroup.BEVERAGE: ("TCVN 5603:2008 (HACCP)", "VietGAP", "TCVN 11041-2:2017 (hữu cơ)"),
    ProductGroup.HERBAL: ("GACP-WHO", "TCVN 11041-2:2017 (hữu cơ)"),
    ProductGroup.HANDICRAFT: ("TCVN ISO 9001:2015",),
    ProductGroup.ORNAMENTAL: ("VietGAP",),
    ProductGroup.TOURISM: ("TCVN 13259:2020",),
}
_KEEPS = (ProductGroup.FOOD, ProductGroup.BEVERAGE, ProductGroup.HERBAL)  # have a best-before


def add_lots(session: Session, rng: random.Random, today: date, first_product: int) -> int:
    """Add a lot for each product from ``first_product`` on that has batches, linked to all
    of them, in the caller's transaction; return how many."""
    products = session.execute(
        select(Product.id, Product.name, Product.product_group, Product.pack_description,
               Producer.legal_name, Producer.province_code)
        .join(Producer, Producer.id == Product.producer_id)
        .where(Product.id >= first_product)
        .order_by(Product.id)
    ).all()  # fmt: skip
    batches: dict[int, list[int]] = defaultdict(list)
    labelled = select(Batch.id, Certificate.product_id).join(
        Certificate, Certificate.id == Batch.certificate_id
    )
    for batch_id, product_id in session.execute(
        labelled.where(Certificate.product_id >= first_product).order_by(Batch.id)
    ):
        batches[product_id].append(batch_id)
    next_id = int(session.scalar(select(func.max(Lot.id))) or 0) + 1
    lots: list[dict[str, Any]] = []
    links: list[dict[str, int]] = []
    for product in products:
        if not batches[product.id]:
            continue
        lot = _lot(rng, today, next_id + len(lots), product)
        lots.append(lot)
        links += [{"batch_id": b, "lot_id": lot["id"]} for b in batches[product.id]]
    if lots:
        session.execute(insert(Lot), lots)
        session.execute(insert(BatchLot), links)
    return len(lots)


def _lot(rng: random.Random, today: date, lot_id: int, product: Any) -> dict[str, Any]:
    """Return the row of one lot of ``product`` (a row of :func:`add_lots`' query)."""
    made = today - timedelta(days=rng.randint(5, 300))
    good = next(g for g in _MATERIALS if product.name.startswith(g))
    group = ProductGroup(product.product_group)
    kept = group in _KEEPS
    home = product.province_code
    origins = [
        {
            "material": material,
            "province_code": home if rng.random() < 0.7 else rng.choice(list(PROVINCES)),
            "commune_code": None,
            "gln": None,
            "supplier": f"Tổ hợp tác {material.lower()} {rng.randint(1, 40)}",
            "harvested_on": (made - timedelta(days=rng.randint(3, 30))).isoformat(),
        }
        for material in rng.sample(_MATERIALS[good], min(len(_MATERIALS[good]), rng.randint(1, 2)))
    ]
    steps = [*sorted(rng.sample(_STAGES, rng.randint(1, 2)), key=_STAGES.index), _LAST_STAGE]
    stages = [
        {
            "step": step,
            "place": f"Xưởng sản xuất {product.legal_name}",
            "province_code": home,
            "at": format_time(_at(made - timedelta(days=2 * (len(steps) - n - 1)))),
            "commune_code": None,
            "gln": None,
            "trace_code": None,
        }
        for n, step in enumerate(steps)
    ]
    standards = _STANDARDS[group]
    declared = _at(made)
    return {
        "id": lot_id,
        "product_id": product.id,
        "lot_number": f"L{made:%y%m%d}-{rng.randint(1, 99):02d}",
        "produced_on": made,
        "best_before": made + timedelta(days=rng.choice((365, 540, 730))) if kept else None,
        "expires_on": None,
        "quantity": rng.choice((100, 200, 500, 1_000, 2_000)),
        "quantity_unit": product.pack_description.split(" ", 1)[0].lower(),
        "standards": rng.sample(standards, min(len(standards), rng.randint(1, 2))),
        "origins": origins,
        "stages": stages,
        "documents": [],
        "declared_by": product.legal_name,
        "declared_at": declared,
        "updated_at": declared,
        "changed_version": 0,
    }


def _at(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=VIETNAM)
