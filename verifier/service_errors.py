"""Errors of the service, each with the HTTP status it answers with."""

from __future__ import annotations

from typing import Any, Self

from signing import OcopError
from verifier.i18n.messages import REFUSALS, Language, every_language


class ServiceError(OcopError):
    """A request the service refuses; ``status`` is the HTTP status of the answer.

    ``extra`` holds the members the JSON error adds to ``code`` and ``message`` (for a refusal
    made with :meth:`refusal`, its ``reason`` and figures); ``messages`` its wording in
    Vietnamese and English, for the person who reads it.
    """

    status = 400
    code = "bad_request"
    reason: str | None = None
    #: More fields of the JSON error (a refusal's ``reason`` and its figures).
    extra: dict[str, Any] = {}  # noqa: RUF012 - replaced, never changed in place
    #: Seconds after which the same request may succeed, sent as ``Retry-After``.
    retry_after: int | None = None
    #: The message in each language of the catalogs ("vi", "en"), for errors a person reads.
    messages: dict[Language, str] | None = None

    @classmethod
    def refusal(cls, reason: str, **figures: int) -> Self:
        """Return this error for ``reason``, a refusal worded in :data:`REFUSALS` (its
        ``figures`` fill the wording and are given in the JSON answer too); the English
        wording is the error's ``detail``."""
        messages = every_language(REFUSALS[reason], **figures)
        error = cls(messages["en"])
        error.reason, error.messages = reason, messages
        error.extra = {"reason": reason, **figures}
        return error


class NotFound(ServiceError):
    status = 404
    code = "not_found"

    def __init__(self, entity: str, identifier: object) -> None:
        super().__init__(f"{entity} {identifier} does not exist")
        self.entity = entity
        self.identifier = identifier


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    """The request is well-formed but the registry's state does not allow it."""

    status = 409
    code = "conflict"


class Invalid(ServiceError):
    status = 422
    code = "invalid"


class TooLarge(ServiceError):
    status = 413
    code = "too_large"


class Busy(ServiceError):
    """The service is at capacity for this kind of work; ``retry_after`` says when to retry."""

    status = 503
    code = "busy"
