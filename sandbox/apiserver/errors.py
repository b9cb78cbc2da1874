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


# The builders below are k8s.io/apimachinery/pkg/api/errors' of the same names, worded as they are.


def internal_error(cause: str) -> ApiError:
    """NewInternalError: the cause is in the message and, alone, in details.causes."""
    return ApiError(500, "InternalError", f"Internal error occurred: {cause}", {"causes": [{"message": cause}]})


def service_unavailable(message: str) -> ApiError:
    """NewServiceUnavailable: no details."""
    return ApiError(503, "ServiceUnavailable", message)


def timeout_error(message: str) -> ApiError:
    """NewTimeoutError with retryAfterSeconds 0: an empty details object, so no Retry-After for clients to obey."""
    return ApiError(504, "Timeout", f"Timeout: {message}", {})


def forbidden_by(resource: str, group: str, name: str, cause: str) -> ApiError:
    """NewForbidden: what admission (rather than RBAC) refuses a request with."""
    qualified = f"{resource}.{group}" if group else resource
    subject = f'{qualified} "{name}"' if name else qualified
    return ApiError(
        403, "Forbidden", f"{subject} is forbidden: {cause}", {"name": name, "group": group, "kind": resource}
    )
