"""Kubernetes Status errors the API server answers with (beyond the store's own)."""

from __future__ import annotations

from ..store import ApiError


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def not_served() -> ApiError:
    """A URL outside what this server serves, worded as the real one words it."""
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def method_not_allowed(method: str) -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({method})"
    )
