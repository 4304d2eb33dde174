"""Failures the use cases report; the API layer maps each to one HTTP status."""


class DomainError(Exception):
    """Base class; the message is safe to show to the caller."""


class NotFound(DomainError):
    """The resource does not exist or belongs to someone else (never reveal which)."""


class VersionConflict(DomainError):
    """The caller's version of the resource is stale."""


class LimitExceeded(DomainError):
    """The request would exceed a fixed per-resource limit."""


class InvalidCursor(DomainError):
    """A pagination cursor that this service did not issue for this listing."""


class AuthenticationFailed(DomainError):
    """Missing, malformed, expired, revoked or foreign token. One message for all: details stay in logs."""


class AccountDeleted(AuthenticationFailed):
    """A token whose account was deleted (or is being deleted): still valid for Firebase until it expires,
    refused by us. Answered as any other refused token."""

    def __init__(self) -> None:
        super().__init__("invalid or missing credentials")


class PermissionDenied(DomainError):
    """Authenticated, but not allowed."""


class ServiceUnavailable(DomainError):
    """A backing service (DynamoDB, S3, Firebase) is unreachable or timed out."""


class IdempotencyKeyReused(DomainError):
    """The caller's Idempotency-Key already answered a different request."""
