"""The registry's facts as EPCIS 2.0 events (JSON-LD), and the documents that carry them.

What happens to stamps and lots becomes an event: a batch of stamps issued is commissioned, a
lot's processing stage transforms its inputs into the lot, inspectors' checks are inspections
at province level, a voided batch is decommissioned, a revoked certificate recalls its
product. Identifiers are GS1 Digital Link URIs where a GS1 key exists (a product's GTIN, a
place's GLN), else the service's own URIs; what GS1's vocabulary has no word for is in user
extensions of the ``ocop:`` namespace, declared in the documents' ``@context``. The mapping is
written down in docs/traceability.md.

Every function here is pure: it builds JSON from rows it is given."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from signing.dates import VIETNAM, format_time, parse_time
from verifier.store.models import Batch, Certificate, Lot, Producer, Product

__all__ = [
    "EPCIS_CONTEXT",
    "EVENT_TYPES",
    "Event",
    "Identifiers",
    "commissioning",
    "decommissioning",
    "epcis_document",
    "inspection",
    "query_document",
    "recall",
    "stage_events",
    "vietnam_midnight",
]

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"
TIME_ZONE_OFFSET = "+07:00"  # everything the registry records happens in Vietnam
GS1_RESOLVER = "https://id.gs1.org"
# the event types of EPCIS 2.0; this service writes the first two
EVENT_TYPES = ("ObjectEvent", "TransformationEvent", "AggregationEvent", "AssociationEvent",
               "TransactionEvent")  # fmt: skip

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    """One EPCIS event: when it happened (UTC, whole seconds, as ``eventTime`` says), its
    ``eventID`` and its JSON. Events are ordered by :attr:`key`."""

    time: datetime
    event_id: str
    body: Json

    @property
    def key(self) -> tuple[datetime, str]:
        return self.time, self.event_id

    @property
    def type(self) -> str:
        return str(self.body["type"])


@dataclass(frozen=True, slots=True)
class Identifiers:
    """The URIs an export names things by, on the service's public ``host``: GS1 Digital Link
    URIs for products with a GTIN and their lots (``https://HOST/01/GTIN/10/LOT``) and GS1's
    resolver for places with a GLN (``https://id.gs1.org/414/GLN``); the registry's own URIs
    for the rest; ``urn:uuid:`` event ids, the same for the same fact in every export."""

    host: str

    @property
    def base(self) -> str:
        return f"https://{self.host}"

    @property
    def namespace(self) -> str:
        """The IRI of the ``ocop:`` extensions."""
        return f"{self.base}/ns/epcis#"

    def product(self, product: Product) -> str:
        if product.gtin:
            return f"{self.base}/01/{product.gtin}"
        return f"{self.base}/registry/products/{product.id}"

    def lot(self, lot: Lot) -> str:
        if lot.product.gtin:  # RFC 3986: every character outside the unreserved set escaped
            return f"{self.base}/01/{lot.product.gtin}/10/{quote(lot.lot_number, safe='')}"
        return f"{self.base}/registry/lots/{lot.id}"

    def origin(self, lot: Lot, number: int) -> str:
        """The raw material ``number`` (from 1) of ``lot``'s declared origins."""
        return f"{self.base}/registry/lots/{lot.id}/origins/{number}"

    def place(self, *, gln: str | None, province_code: str) -> str:
        return f"{GS1_RESOLVER}/414/{gln}" if gln else self.province(province_code)

    def province(self, code: str) -> str:
        return f"{self.base}/registry/provinces/{code}"

    def certificate(self, certificate_id: int) -> str:
        return f"{self.base}/api/v1/certificates/{certificate_id}"

    def event_id(self, *fact: object) -> str:
        """Return the id of the event that tells ``fact`` (its kind and the rows it rests
        on): a name-based UUID, so that every export gives the same event the same id."""
        name = "/".join(str(part) for part in (self.base, "epcis", *fact))
        return uuid.uuid5(uuid.NAMESPACE_URL, name).urn


def vietnam_midnight(day: date) -> datetime:
    """Return the first instant of ``day`` in Vietnam."""
    return datetime.combine(day, time(), tzinfo=VIETNAM)


def _event(
    ids: Identifiers, fact: tuple[object, ...], at: datetime, kind: str, **fields: Any
) -> Event:
    moment = at.astimezone(UTC).replace(microsecond=0)
    event_id = ids.event_id(*fact)
    body = {"type": kind, "eventTime": format_time(moment),
            "eventTimeZoneOffset": TIME_ZONE_OFFSET, "eventID": event_id, **fields}  # fmt: skip
    return Event(moment, event_id, body)


def _classes(
    ids: Identifiers, product: Product, lots: Sequence[Lot], quantity: int | None
) -> list[Json]:
    """Return the quantity list of stamped packs of ``product``: the one lot they label with
    ``quantity`` (a count, so no unit), several lots without (how the packs divide between
    them is not recorded), or the product itself when they label no lot."""
    if len(lots) > 1:
        return [{"epcClass": ids.lot(lot)} for lot in lots]
    epc_class = ids.lot(lots[0]) if lots else ids.product(product)
    return [{"epcClass": epc_class} if quantity is None else
            {"epcClass": epc_class, "quantity": quantity}]  # fmt: skip


def _producer_place(ids: Identifiers, producer: Producer) -> Json:
    return {"id": ids.place(gln=producer.gln, province_code=producer.province_code)}


def _batch(ids: Identifiers, batch: Batch) -> Json:
    """Return the ``ocop:batch`` extension: which stamps (the serials of one key), how many,
    what they say (stars, validity) and where they are sold, if declared."""
    facts: Json = {
        "ocop:id": batch.id, "ocop:keyIndex": batch.key_index,
        "ocop:firstSerial": batch.first_serial, "ocop:lastSerial": batch.last_serial,
        "ocop:stamps": batch.count, "ocop:stars": batch.stars,
        "ocop:validUntil": batch.valid_until.isoformat(),
    }  # fmt: skip
    if batch.market_codes:
        facts["ocop:markets"] = [ids.province(code) for code in batch.market_codes]
    return {"ocop:batch": facts}


def commissioning(
    ids: Identifiers, *, batch: Batch, certificate: Certificate, lots: Sequence[Lot]
) -> Event:
    """Return the event of ``batch`` issued: its stamps commissioned for the packs of the lots
    it labels (or of its product), at the producer's place, under ``certificate``."""
    place = _producer_place(ids, certificate.product.producer)
    return _event(
        ids, ("commissioning", batch.id), batch.created_at, "ObjectEvent",
        certificationInfo=ids.certificate(certificate.id),
        action="ADD", bizStep="commissioning", disposition="active",
        quantityList=_classes(ids, certificate.product, lots, batch.count),
        readPoint=place, bizLocation=place, **_batch(ids, batch),
    )  # fmt: skip


def decommissioning(
    ids: Identifiers, *, batch: Batch, certificate: Certificate, lots: Sequence[Lot]
) -> Event:
    """Return the event of ``batch`` voided (its stamps read ``unregistered`` from then on).
    Raises ``ValueError`` for a batch not voided."""
    if batch.voided_at is None:
        raise ValueError(f"batch {batch.id} is not void")
    return _event(
        ids, ("decommissioning", batch.id), batch.voided_at, "ObjectEvent",
        action="DELETE", bizStep="decommissioning", disposition="inactive",
        quantityList=_classes(ids, certificate.product, lots, batch.count), **_batch(ids, batch),
    )  # fmt: skip


def recall(ids: Identifiers, *, certificate: Certificate, lots: Iterable[Lot]) -> Event:
    """Return the event of ``certificate`` revoked: its product and the lots its batches
    label are recalled (held, CBV's ``holding``), from the first instant of the revocation
    decision's day. Raises ``ValueError`` for a certificate without a revocation date."""
    if certificate.revocation_date is None:
        raise ValueError(f"certificate {certificate.id} has no revocation date")
    classes = [ids.product(certificate.product), *(ids.lot(lot) for lot in lots)]
    revocation = {
        "ocop:authority": certificate.authority.code,
        "ocop:decision": certificate.revocation_decision,
        "ocop:decisionDate": certificate.revocation_date.isoformat(),
        "ocop:reason": certificate.revocation_reason,
    }
    return _event(
        ids, ("recall", certificate.id), vietnam_midnight(certificate.revocation_date),
        "ObjectEvent", certificationInfo=ids.certificate(certificate.id),
        action="OBSERVE", bizStep="holding", disposition="recalled",
        quantityList=[{"epcClass": c} for c in dict.fromkeys(classes)],
        **{"ocop:revocation": revocation},
    )  # fmt: skip


def stage_events(ids: Identifiers, lot: Lot) -> list[Event]:
    """Return one transformation event per processing stage of ``lot``, in the order
    declared (by time): the first turns the declared raw materials into the lot and carries
    its lot-level master data (ILMD: lot number, best-before and expiry dates); each later one
    turns the lot into itself, further processed. The place is the stage's GLN, else its
    province. Suppliers' names are not exported (a supplier may be a household)."""
    events = []
    output = [{"epcClass": ids.lot(lot)}]
    for index, stage in enumerate(lot.stages):
        place = {"id": ids.place(gln=stage.get("gln"), province_code=stage["province_code"])}
        what: Json = {"ocop:step": stage["step"], "ocop:place": stage["place"]}
        if stage.get("trace_code"):
            what["ocop:traceCode"] = stage["trace_code"]
        fields: Json = {"ocop:stage": what}
        if index == 0:
            fields |= _first_stage(ids, lot)
        else:
            fields["inputQuantityList"] = output
        fact = ("stage", lot.id, stage["at"], stage["step"])
        events.append(_event(
            ids, fact, parse_time(stage["at"]), "TransformationEvent",
            outputQuantityList=output, bizStep="creating_class_instance",
            readPoint=place, bizLocation=place, **fields,
        ))  # fmt: skip
    return events


def _first_stage(ids: Identifiers, lot: Lot) -> Json:
    """Return what the first stage of ``lot`` says beside its output: its inputs (the
    declared raw materials, with where they come from in ``ocop:origins``; without any, a
    ``transformationID`` stands for them, as EPCIS requires), and the lot's ILMD."""
    ilmd: Json = {"cbvmda:lotNumber": lot.lot_number}
    if lot.best_before is not None:
        ilmd["cbvmda:bestBeforeDate"] = lot.best_before.isoformat()
    if lot.expires_on is not None:
        ilmd["cbvmda:itemExpirationDate"] = lot.expires_on.isoformat()
    fields: Json = {"ilmd": ilmd}
    if not lot.origins:
        return fields | {"transformationID": ids.event_id("lot", lot.id)}
    origins = []
    for number, origin in enumerate(lot.origins, start=1):
        where = ids.place(gln=origin.get("gln"), province_code=origin["province_code"])
        facts = {"ocop:class": ids.origin(lot, number), "ocop:material": origin["material"],
                 "ocop:from": where}  # fmt: skip
        if origin.get("harvested_on"):
            facts["ocop:harvestedOn"] = origin["harvested_on"]
        origins.append(facts)
    inputs = [{"epcClass": facts["ocop:class"]} for facts in origins]
    return fields | {"inputQuantityList": inputs, "ocop:origins": origins}


def inspection(
    ids: Identifiers,
    *,
    day: date,
    province_code: str,
    batch: Batch,
    certificate: Certificate,
    lots: Sequence[Lot],
    stamps: int,
    verdicts: Mapping[str, int],
) -> Event:
    """Return the inspection of ``batch``'s stamps by officials in one province on one day
    (Vietnam time): how many distinct stamps, how many checks and their verdicts; conformant
    when every check found the stamp genuine. It says nothing of who checked, with which
    phone, where in the province or at what time of day."""
    place = {"id": ids.province(province_code)}
    checks = [{"ocop:verdict": verdict, "ocop:count": count}
              for verdict, count in sorted(verdicts.items())]  # fmt: skip
    conformant = set(verdicts) == {"genuine"}
    return _event(
        ids, ("inspection", day.isoformat(), province_code, batch.id), vietnam_midnight(day),
        "ObjectEvent", action="OBSERVE", bizStep="inspecting",
        disposition="conformant" if conformant else "non_conformant",
        quantityList=_classes(ids, certificate.product, lots, stamps),
        readPoint=place, bizLocation=place, **_batch(ids, batch),
        **{"ocop:inspection": {"ocop:checks": sum(verdicts.values()), "ocop:verdicts": checks}},
    )  # fmt: skip


def _context(ids: Identifiers) -> list[Any]:
    return [EPCIS_CONTEXT, {"ocop": ids.namespace}]


def epcis_document(ids: Identifiers, events: Iterable[Event], now: datetime) -> Json:
    """Return the EPCIS document of ``events``, made at ``now``."""
    return {
        "@context": _context(ids), "type": "EPCISDocument", "schemaVersion": SCHEMA_VERSION,
        "creationDate": format_time(now), "epcisBody": {"eventList": [e.body for e in events]},
    }  # fmt: skip


def query_document(ids: Identifiers, events: Iterable[Event], now: datetime) -> Json:
    """Return the answer of the REST binding's events query: an EPCIS query document of
    ``events`` (the ``SimpleEventQuery``), made at ``now``."""
    results = {"queryName": "SimpleEventQuery",
               "resultsBody": {"eventList": [e.body for e in events]}}  # fmt: skip
    return {
        "@context": _context(ids), "type": "EPCISQueryDocument", "schemaVersion": SCHEMA_VERSION,
        "creationDate": format_time(now), "epcisBody": {"queryResults": results},
    }  # fmt: skip
