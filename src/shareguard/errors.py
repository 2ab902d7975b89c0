"""One exception tree. Central handlers turn these into problem+json (API) or error pages.

Messages must never carry personal data: name ids and fields, not values.
"""

from __future__ import annotations

from typing import Any


class ShareguardError(Exception):
    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """RFC 9457 problem details body."""
        body: dict[str, Any] = {
            "type": f"https://shareguard.example/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class InvalidInput(ShareguardError):
    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class NotFound(ShareguardError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Unauthenticated(ShareguardError):
    status = 401
    title = "Authentication required"
    slug = "unauthenticated"


class Forbidden(ShareguardError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class Conflict(ShareguardError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class RateLimited(ShareguardError):
    status = 429
    title = "Too many requests"
    slug = "rate-limited"


class Unavailable(ShareguardError):
    """This deployment does not offer the operation (e.g. no sign-in route is configured)."""

    status = 503
    title = "Service unavailable"
    slug = "unavailable"


class Refused(ShareguardError):
    """The policy refused a disclosure: a firewall rule, a pause, a limit or no agreement."""

    status = 403
    title = "Disclosure refused"
    slug = "disclosure-refused"


def keep_audit(error: ShareguardError) -> ShareguardError:
    """Return ``error`` marked so the boundary commits what this unit of work wrote first.

    The one documented way for a service to refuse while keeping the refusal's audit entry
    (a policy denial, a throttled share-code guess): ``raise keep_audit(Refused(...))``.
    Services never commit; this asks the boundary to, and then the error is answered as usual.
    """
    error.keep_audit = True  # type: ignore[attr-defined]
    return error


def keeps_audit(error: BaseException) -> bool:
    """True for an error raised through ``keep_audit``."""
    return bool(getattr(error, "keep_audit", False))
