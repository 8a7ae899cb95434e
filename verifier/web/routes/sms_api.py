"""The check by SMS (issue 21): a gateway's webhook for each buyer's message ``OCOP <serial>
[PIN]``, answered with one SMS (:mod:`verifier.claims.sms_check`). A route is there only when
its gateway's secrets are set (404 otherwise); a request the gateway did not sign is refused
(401 or 403) with no reply.

Each phone number may send ``OCOP_RATE_LIMIT_SMS`` messages (counted in this worker's memory by
a keyed digest of the number, kept nowhere else), besides each stamp's own lock after wrong
PINs; a message the gateway sends again (the same id: a retry) gets the same reply, without
checking its PIN twice."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from datetime import datetime

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from verifier.claims.sms_check import busy_reply, check_by_sms
from verifier.service import Service
from verifier.service_errors import NotFound
from verifier.settings import RateLimits
from verifier.web.deps import Now, ServiceDep
from verifier.web.ratelimits import Limiter
from verifier.web.sms_gateways import GATEWAYS, GenericSmsIn, InboundSms, SmsGateway

router = APIRouter(prefix="/api/v1/sms", tags=["sms"])

REPLAY_SECONDS = 24 * 3600.0  # how long a message's reply is kept for the gateway's retries
REPLAY_ENTRIES = 10_000


class SmsDesk:
    """One worker's memory of the SMS channel: each sender's count (by a digest keyed with a
    secret of this process's, so the numbers cannot be read back from it) and the recent
    replies by gateway and message id. Used from the event loop's thread only."""

    def __init__(self, rules: RateLimits) -> None:
        self.limiter = Limiter(rules)
        self._key = secrets.token_bytes(32)
        self._replies: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()

    def sender_wait(self, sender: str) -> int | None:
        """Count a message from ``sender``; return the seconds until it may send another when
        it is over its limit, else ``None``."""
        digest = hmac.digest(self._key, sender.encode(), hashlib.sha256).hex()[:32]
        return self.limiter.hit("sms", f"sms:{digest}")

    def replied(self, gateway: str, message_id: str) -> str | None:
        """Return the reply already given to message ``message_id`` of ``gateway``, if any
        in the last :data:`REPLAY_SECONDS`."""
        found = self._replies.get((gateway, message_id))
        if found is None or found[0] < time.monotonic() - REPLAY_SECONDS:
            return None
        return found[1]

    def remember(self, gateway: str, message_id: str, reply: str) -> None:
        """Keep ``reply`` for the gateway's retries of the message (the oldest forgotten past
        :data:`REPLAY_ENTRIES`)."""
        self._replies[(gateway, message_id)] = (time.monotonic(), reply)
        self._replies.move_to_end((gateway, message_id))
        while len(self._replies) > REPLAY_ENTRIES:
            self._replies.popitem(last=False)


def _desk(request: Request, service: Service) -> SmsDesk:
    """Return the application's :class:`SmsDesk`, made at its first message."""
    state = request.app.state
    if getattr(state, "sms_desk", None) is None:
        state.sms_desk = SmsDesk(service.settings.rate_limits)
    desk: SmsDesk = state.sms_desk
    return desk


async def _answer(
    gateway: SmsGateway, request: Request, service: Service, now: datetime
) -> Response:
    """Return ``gateway``'s response carrying the reply to the message ``request`` brings.
    Raises :class:`NotFound` when the gateway is not configured, and what its ``inbound``
    raises."""
    if not gateway.configured(service.settings):
        raise NotFound("SMS gateway", gateway.name)
    inbound = await gateway.inbound(request, service.settings)
    desk = _desk(request, service)
    reply = desk.replied(gateway.name, inbound.message_id)
    if reply is None:
        wait = desk.sender_wait(inbound.sender)
        if wait is None:
            reply = await run_in_threadpool(_checked, service, inbound, now)
        else:
            reply = busy_reply(wait)
        desk.remember(gateway.name, inbound.message_id, reply)
    return gateway.reply(inbound, reply)


def _checked(service: Service, inbound: InboundSms, now: datetime) -> str:
    """Return the reply to ``inbound``, its claim (if it has a PIN) committed."""
    index = service.lists(now).index
    with service.writer.begin() as session:
        return check_by_sms(session, index, inbound.text, now)


_REPLY_EXAMPLE = "OCOP 01-000001042 co dang ky: Mat ong hoa nhan Ba Vi, 4 sao, hieu luc den ..."


@router.post(
    "/inbound",
    summary="An SMS to check, from any gateway configured for the generic contract",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": GenericSmsIn.model_json_schema()}},
        }
    },
    responses={200: {"content": {"application/json": {"example": {"reply": _REPLY_EXAMPLE}}}}},
)
async def generic_inbound(request: Request, service: ServiceDep, now: Now) -> Response:
    """``{"from": "84912345678", "text": "OCOP 01-000001042 12345678", "id": "..."}`` with
    ``Authorization: Bearer <OCOP_SMS_TOKEN>``; answers ``{"reply": "<one GSM-7 SMS>"}`` for
    the gateway to send back. 401 without the token, 422 for another body, 404 while
    ``OCOP_SMS_TOKEN`` is unset."""
    return await _answer(GATEWAYS["generic"], request, service, now)


@router.get("/esms/receive_mo", summary="An SMS to check, from eSMS.vn's short code")
async def esms_inbound(request: Request, service: ServiceDep, now: Now) -> Response:
    """eSMS.vn's MO call: ``?sender=&content=&serviceNumber=&keyword=&sign=&cpid=&smsid=&
    receiverTime=``, signed ``MD5(cpid + smsid + content + receiverTime + private key)``;
    answers ``<ClientResponse>`` with the reply. 403 for a wrong ``sign``, 422 for a missing
    parameter, 404 while ``OCOP_ESMS_CPID`` and ``OCOP_ESMS_PRIVATE_KEY`` are unset."""
    return await _answer(GATEWAYS["esms"], request, service, now)
