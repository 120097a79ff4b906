"""Refusals of the access-control layer, answered as 401 and 403."""

from __future__ import annotations

from cloud.domain.errors import DomainError


class AuthenticationError(DomainError):
    """Wrong or missing credentials (401): the message never says which part was wrong."""

    status_code = 401


class ForbiddenError(DomainError):
    """Authenticated, but not allowed to do this (403)."""

    status_code = 403
