"""A buyer's one-time claim of a pack under the PIN printed beneath its stamp's scratch-off
foil: ``POST /api/v1/claims``, and :func:`claim_by_code`, which the stamp page's form
(``POST /claim``) shares."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from signing import MalformedStamp, parse_stamp
from verifier.claims.claiming import Claimed, ClaimOutcome, claim_stamp
from verifier.service import Service
from verifier.service_errors import Invalid, TooManyTries
from verifier.web.deps import Now, ServiceDep
from verifier.web.views import claim_json, claim_words

router = APIRouter(prefix="/api/v1", tags=["claims"])

Pin = Annotated[str, Field(pattern=r"^[0-9][0-9 .-]{6,18}[0-9]$", description="the PIN")]
ProvinceCode = Annotated[str, Field(pattern=r"^[0-9]{2}$", description="e.g. 01 (Hà Nội)")]


class ClaimIn(BaseModel):
    code: str = Field(min_length=1, max_length=2048, description="the stamp: its URL or digits")
    pin: Pin
    province: ProvinceCode | None = Field(
        default=None, description="where the buyer is, if they say: no finer place is kept"
    )


def claim_by_code(
    service: Service,
    *,
    code: str,
    pin: str,
    province: str | None,
    channel: str,
    now: datetime,
) -> Claimed:
    """Check ``pin`` for the stamp ``code`` (either form) and record what it came to. Returns
    the first claim or one more confirmation. Raises :class:`Invalid` for a code that is not
    a stamp signed by a trusted key (``claim_not_a_stamp``) or a wrong PIN
    (``claim_wrong_pin``, with the tries left); :class:`TooManyTries` while the stamp is
    locked (``claim_locked``, with ``retry_after``); :class:`NotFound` for a stamp printed
    without a PIN."""
    try:
        stamp = parse_stamp(code)
    except MalformedStamp:
        raise Invalid.refusal("claim_not_a_stamp") from None
    key = service.lists(now).trust_list.keys.get(stamp.payload.key_index)
    if key is None or not stamp.signature_valid(key.public_key):
        raise Invalid.refusal("claim_not_a_stamp")
    with service.writer.begin() as session:
        answer = claim_stamp(
            session,
            key_index=stamp.payload.key_index,
            serial=stamp.payload.serial,
            pin=pin,
            province_code=province,
            channel=channel,
            now=now,
        )
    if isinstance(answer, Claimed):
        return answer
    if answer.outcome is ClaimOutcome.WRONG_PIN:
        raise Invalid.refusal("claim_wrong_pin", tries_left=answer.tries_left)
    seconds = max(1, math.ceil(((answer.locked_until or now) - now).total_seconds()))
    error = TooManyTries.refusal("claim_locked", minutes=math.ceil(seconds / 60))
    error.retry_after = seconds
    raise error


@router.post("/claims", summary="Claim a pack under the PIN beneath its stamp's foil (anyone)")
def claim(body: ClaimIn, service: ServiceDep, now: Now) -> dict[str, Any]:
    """The first correct PIN answers ``"claim": "first"``; any later one ``"already_claimed"``
    with when and where the first was. A wrong PIN is 422 ``claim_wrong_pin``; a stamp locked
    after too many is 429 with ``Retry-After``; a stamp printed without a PIN is 404."""
    answer = claim_by_code(service, code=body.code, pin=body.pin, province=body.province,
                           channel="api", now=now)  # fmt: skip
    return {
        "claim": answer.outcome.value,
        **claim_json(answer.claim),
        "messages": claim_words(answer.claim, answer.outcome.value),
    }
