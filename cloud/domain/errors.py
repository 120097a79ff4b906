"""Errors services raise; the app turns them into HTTP answers that name the field."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a service raises for a request that cannot be served."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(DomainError):
    status_code = 404

    def __init__(self, resource: str, key: str, value: object) -> None:
        super().__init__(f"{resource} with {key} {value!r} not found", field=key)


class ConflictError(DomainError):
    status_code = 409


class InvalidFieldError(DomainError):
    status_code = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)


class UnavailableError(DomainError):
    status_code = 503
