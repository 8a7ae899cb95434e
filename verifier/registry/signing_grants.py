"""What may be signed: serials of a batch, checked against the registry at the moment they
are signed, whoever asks (a producer's download, an operator's command). The signing key
signs nothing the registry would not allow, and every answer lands in the audit log: a grant
in the signing's own transaction, a refusal in one of its own (the refused request's rolls
back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from signing import CertificateState, KeyStatus
from signing.dates import vietnam_date
from verifier.registry.actors import Actor, audit, get
from verifier.registry.batches import batch_for
from verifier.service_errors import Conflict
from verifier.store.models import Batch, BatchState, Certificate, SigningKey

__all__ = ["SigningGrant", "grant_signing", "refuse_signing"]


@dataclass(frozen=True, slots=True)
class SigningGrant:
    """Serials ``first_serial`` to ``last_serial`` of ``batch`` may be signed with ``key``
    for ``certificate``."""

    batch: Batch
    certificate: Certificate
    key: SigningKey
    first_serial: int
    last_serial: int

    @property
    def count(self) -> int:
        return self.last_serial - self.first_serial + 1


def grant_signing(
    session: Session,
    *,
    actor: Actor,
    batch_id: int,
    first_serial: int | None = None,
    last_serial: int | None = None,
    now: datetime,
) -> SigningGrant:
    """Return the grant to sign serials ``first_serial`` to ``last_serial`` of batch
    ``batch_id`` (by default all of them), audited as ``stamps.sign``, once each holds:

    1. the caller may see the batch (its producer, or its certificate's authority);
    2. the batch is not void;
    3. the serials lie within those allocated to it;
    4. its certificate is active on ``now``'s date in Vietnam, at the batch's stars;
    5. its key is active, within its period on that date, of the certificate's authority and
       for the batch's stars.

    Raises as :func:`batch_for` for step 1, else :class:`Conflict` refusing with the reason
    of the first step that fails (``signing_batch_void``, ``signing_serials_outside_batch``,
    ``signing_certificate_inactive``, ``signing_key_out_of_scope``)."""
    batch, certificate = batch_for(session, actor=actor, batch_id=batch_id)
    first = batch.first_serial if first_serial is None else first_serial
    last = batch.last_serial if last_serial is None else last_serial
    if batch.state == BatchState.VOID:
        raise Conflict.refusal("signing_batch_void", batch=batch.id)
    if not batch.first_serial <= first <= last <= batch.last_serial:
        raise Conflict.refusal("signing_serials_outside_batch", batch=batch.id,
                               first=batch.first_serial, last=batch.last_serial)  # fmt: skip
    today = vietnam_date(now)
    if (
        certificate.status != CertificateState.ACTIVE
        or certificate.valid_until < today
        or certificate.stars != batch.stars
    ):
        raise Conflict.refusal("signing_certificate_inactive", certificate=certificate.id)
    key = get(session, SigningKey, batch.key_index)
    if (
        key.status != KeyStatus.ACTIVE
        or not key.not_before <= today <= key.not_after
        or key.authority_id != certificate.authority_id
        or batch.stars not in key.star_set
    ):
        raise Conflict.refusal("signing_key_out_of_scope", key=key.index)
    audit(session, actor, "stamps.sign", "batch", batch.id, now,
          key_index=key.index, first_serial=first, last_serial=last)  # fmt: skip
    return SigningGrant(batch, certificate, key, first, last)


def refuse_signing(
    session: Session,
    *,
    actor: Actor,
    batch_id: int,
    refusal: Conflict,
    first_serial: int | None = None,
    last_serial: int | None = None,
    now: datetime,
) -> None:
    """Record in the audit log, as ``stamps.sign_refused``, that :func:`grant_signing`
    refused serials of batch ``batch_id`` with ``refusal`` (call in a transaction of its own:
    the refused request's rolls back)."""
    audit(session, actor, "stamps.sign_refused", "batch", batch_id, now,
          reason=refusal.reason, first_serial=first_serial, last_serial=last_serial)  # fmt: skip
