"""The service's domain errors: what went wrong, with its data. Each class names a kind of
refusal and its default ``code``; the web layer gives each kind its HTTP status
(``verifier.web.answers.status_of``), the CLI its message and exit status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from signing import OcopError
from verifier.i18n.messages import REFUSALS, Language, every_language


class ServiceError(OcopError):
    """A request the service refuses: ``code`` names the refusal for programs, ``detail``
    explains it in English.

    ``extra`` holds the figures a caller is told beside ``code`` and ``detail`` (for a refusal
    made with :meth:`refusal`, its ``reason`` and figures); ``messages`` its wording in
    Vietnamese and English, for the person who reads it.
    """

    code = "bad_request"
    reason: str | None = None
    #: More facts of the refusal (a refusal's ``reason`` and its figures).
    extra: dict[str, Any] = {}  # noqa: RUF012 - replaced, never changed in place
    #: Seconds after which the same request may succeed.
    retry_after: int | None = None
    #: The message in each language of the catalogs ("vi", "en"), for errors a person reads.
    messages: Mapping[Language, str] | None = None

    @classmethod
    def refusal(cls, reason: str, **figures: int) -> Self:
        """Return this error for ``reason``, a refusal worded in :data:`REFUSALS` (its
        ``figures`` fill the wording and are given to the caller too); the English wording
        is the error's ``detail``."""
        messages = every_language(REFUSALS[reason], **figures)
        error = cls(messages["en"])
        error.reason, error.messages = reason, messages
        error.extra = {"reason": reason, **figures}
        return error


class NotFound(ServiceError):
    """The ``entity`` named ``identifier`` does not exist (or is not the caller's to see)."""

    code = "not_found"

    def __init__(self, entity: str, identifier: object) -> None:
        super().__init__(f"{entity} {identifier} does not exist")
        self.entity = entity
        self.identifier = identifier


class Unauthorized(ServiceError):
    """The caller is not signed in, or its token is unknown, expired or revoked."""

    code = "unauthorized"


class Forbidden(ServiceError):
    """The caller is known but its role or authority does not allow the request."""

    code = "forbidden"


class Conflict(ServiceError):
    """The request is well-formed but the registry's state does not allow it."""

    code = "conflict"


class Invalid(ServiceError):
    """The request's content breaks a rule of the registry."""

    code = "invalid"


class TooLarge(ServiceError):
    """What the caller sent is larger than the service takes."""

    code = "too_large"


class TooManyTries(ServiceError):
    """The caller tried too often; ``retry_after`` says when it may try again."""

    code = "too_many_tries"


class Busy(ServiceError):
    """The service is at capacity for this kind of work; ``retry_after`` says when to retry."""

    code = "busy"
