"""The SMS gateways that bring a buyer's message to the check by SMS: each turns its inbound
HTTP request into an :class:`InboundSms` (after checking that the gateway sent it) and the
reply into the HTTP response it expects. :data:`GATEWAYS` lists them.

- :class:`GenericGateway`, the documented contract any gateway can be configured for:
  ``POST {"from", "text", "id"}`` with ``Authorization: Bearer <OCOP_SMS_TOKEN>``, answered
  ``{"reply": "..."}`` (README.md, docs/operations.md).
- :class:`EsmsGateway`, eSMS.vn's short-code MO connection: an HTTP GET of ``sender``,
  ``content``, ``serviceNumber``, ``keyword``, ``sign``, ``cpid``, ``smsid`` and
  ``receiverTime``, signed ``MD5(cpid + smsid + content + receiverTime + private key)``,
  answered ``<ClientResponse><Message/><Smsid/><Receiver/></ClientResponse>``.

The sender's number is read to count its messages and, for eSMS, to name the receiver of the
reply: it is kept nowhere and never logged."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Annotated, ClassVar, NamedTuple, Protocol
from xml.sax.saxutils import escape

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from verifier.service_errors import Forbidden, Invalid, Unauthorized
from verifier.settings import Settings

__all__ = ["GATEWAYS", "EsmsGateway", "GenericGateway", "GenericSmsIn", "InboundSms", "SmsGateway"]

MAX_SMS_CHARS = 16 * 1024  # an inbound text; longer is refused (a check is a few dozen)
_MESSAGE_ID = re.compile(r"^[!-~]{1,100}$")  # visible ASCII: it is echoed in the eSMS reply
_PHONE = re.compile(r"\+?[0-9]{3,20}")


class InboundSms(NamedTuple):
    """One message a gateway brought: who sent it, its text, and the gateway's id for it (the
    same id again is a retry of the same message)."""

    sender: str
    text: str
    message_id: str


class SmsGateway(Protocol):
    """An SMS gateway's side of the webhook."""

    name: str

    def configured(self, settings: Settings) -> bool:
        """Return whether ``settings`` hold this gateway's secrets (else it has no route)."""
        ...

    async def inbound(self, request: Request, settings: Settings) -> InboundSms:
        """Return the message ``request`` brings. Raises :class:`Unauthorized` or
        :class:`Forbidden` when the gateway did not sign it, :class:`Invalid` (or FastAPI's
        ``RequestValidationError``) when it is no message of this gateway's."""
        ...

    def reply(self, inbound: InboundSms, text: str) -> Response:
        """Return the HTTP response that makes the gateway send ``text`` back to the sender."""
        ...


class GenericSmsIn(BaseModel):
    """The generic contract's request body."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    sender: Annotated[str, Field(alias="from", min_length=1, max_length=64,
                                 description="the sender's number, e.g. 84912345678")]  # fmt: skip
    text: Annotated[str, Field(max_length=MAX_SMS_CHARS, description="the message as typed")]
    id: Annotated[str, Field(pattern=_MESSAGE_ID.pattern, description="the gateway's id of the "
                             "message: a retry sends the same one")]  # fmt: skip


class GenericGateway:
    """The documented contract: JSON in, JSON out, a shared bearer token."""

    name = "generic"

    def configured(self, settings: Settings) -> bool:
        """Return whether ``OCOP_SMS_TOKEN`` is set."""
        return settings.sms_token is not None

    async def inbound(self, request: Request, settings: Settings) -> InboundSms:
        """Return the message of the JSON body. Raises :class:`Unauthorized` without the
        bearer token (compared in constant time), ``RequestValidationError`` for a body that
        is not the contract's."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expected = (settings.sms_token or "").encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
            raise Unauthorized("send Authorization: Bearer with the SMS gateway's token")
        try:
            body = GenericSmsIn.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(_located(exc, "body")) from None
        return InboundSms(body.sender, body.text, body.id)

    def reply(self, inbound: InboundSms, text: str) -> Response:
        """Return ``{"reply": text}``."""
        return JSONResponse({"reply": text})


class EsmsGateway:
    """eSMS.vn's short-code MO connection ("Kết nối đầu số ngắn")."""

    name = "esms"
    _SIGNED = ("cpid", "smsid", "content", "receiverTime")  # in the order the sign hashes them
    # each parameter read, with its longest value
    _LIMITS: ClassVar[dict[str, int]] = {
        "sender": 20, "content": MAX_SMS_CHARS, "smsid": 100, "cpid": 100, "receiverTime": 14,
        "sign": 64,
    }  # fmt: skip

    def configured(self, settings: Settings) -> bool:
        """Return whether ``OCOP_ESMS_CPID`` and ``OCOP_ESMS_PRIVATE_KEY`` are set."""
        return settings.esms_cpid is not None and settings.esms_private_key is not None

    async def inbound(self, request: Request, settings: Settings) -> InboundSms:
        """Return the message of the query. Raises :class:`Invalid` for a parameter missing,
        repeated or too long, :class:`Forbidden` for another CP id or a wrong ``sign``
        (compared in constant time), :class:`Invalid` for a sender or ``smsid`` that is not
        one."""
        query = request.query_params
        values: dict[str, str] = {}
        for name, limit in self._LIMITS.items():
            given = query.getlist(name)
            if len(given) != 1 or len(given[0]) > limit:
                raise Invalid(f"eSMS sends one {name} of at most {limit} characters")
            values[name] = given[0]
        cpid, key = settings.esms_cpid or "", settings.esms_private_key or ""
        signed = "".join(values[name] for name in self._SIGNED) + key
        expected = hashlib.md5(signed.encode(), usedforsecurity=False).hexdigest()
        own_cp = hmac.compare_digest(values["cpid"].encode(), cpid.encode())
        if not (own_cp and hmac.compare_digest(values["sign"].lower().encode(), expected.encode())):
            raise Forbidden("the sign is not eSMS's for this CP")
        if not _PHONE.fullmatch(values["sender"]) or not _MESSAGE_ID.fullmatch(values["smsid"]):
            raise Invalid("eSMS sends a phone number as sender and a printable smsid")
        return InboundSms(values["sender"], values["content"], values["smsid"])

    def reply(self, inbound: InboundSms, text: str) -> Response:
        """Return the ``ClientResponse`` XML naming the message and its sender."""
        body = (
            f"<ClientResponse><Message>{escape(text)}</Message>"
            f"<Smsid>{escape(inbound.message_id)}</Smsid>"
            f"<Receiver>{escape(inbound.sender)}</Receiver></ClientResponse>"
        )
        return Response(body, media_type="application/xml")


GATEWAYS: dict[str, SmsGateway] = {g.name: g for g in (GenericGateway(), EsmsGateway())}


def _located(exc: ValidationError, where: str) -> list[dict[str, object]]:
    """Return ``exc``'s errors as FastAPI reports a body's: located under ``where``, without
    the input (the sender's number is not echoed)."""
    return [
        {"loc": (where, *error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_input=False)
    ]
