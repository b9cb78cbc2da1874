"""The create-only APIs that answer about identity and access, and TokenRequest.

* ``serviceaccounts/<name>/token`` (TokenRequest, authentication.k8s.io/v1):
  issues a token for the ServiceAccount; expirationSeconds defaults to 3600
  and must be at least 600 (authentication/validation ValidateTokenRequest).
* SelfSubjectAccessReview: may the caller do this (resource or non-resource
  attributes)? Evaluated by the same authorizer as every request
  (registry/authorization/selfsubjectaccessreview).
* SelfSubjectRulesReview: the caller's rules in a namespace (``kubectl auth
  can-i --list``).
* SelfSubjectReview (authentication.k8s.io/v1): who the caller is
  (``kubectl auth whoami``).

None of them is stored; each answers 201 with the evaluated object.
"""

from __future__ import annotations

import datetime
from typing import Any

from aiohttp import web

from ..store import Store, now_rfc3339
from .authn import API_AUDIENCE, Authenticator, UserInfo
from .authz import Attributes, RBACAuthorizer, aggregate
from .bodies import read_json
from .decoding import DecodeError, check_value, list_of, struct
from .errors import bad_request, method_not_allowed
from .resources import ResourceType
from .responses import json_response
from .routes import ApiRoute, current_object
from .validation import Invalid

TOKEN_REQUEST = ResourceType("authentication.k8s.io", "v1", "tokenrequests", "TokenRequest", stored=False)
MIN_TOKEN_SECONDS = 600  # 10 minutes
MAX_TOKEN_SECONDS = 1 << 32

_TOKEN_REQUEST_SPEC = struct(
    "TokenRequestSpec",
    "v1.TokenRequestSpec",
    {
        "audiences": list_of("string"),
        "expirationSeconds": "int64",
        "boundObjectRef": struct(
            "BoundObjectReference",
            "v1.BoundObjectReference",
            {"kind": "string", "apiVersion": "string", "name": "string", "uid": "string"},
        ),
    },
)
_ACCESS_REVIEW_SPEC = struct(
    "SelfSubjectAccessReviewSpec",
    "v1.SelfSubjectAccessReviewSpec",
    {
        "resourceAttributes": struct(
            "ResourceAttributes",
            "v1.ResourceAttributes",
            dict.fromkeys(("namespace", "verb", "group", "version", "resource", "subresource", "name"), "string"),
        ),
        "nonResourceAttributes": struct(
            "NonResourceAttributes", "v1.NonResourceAttributes", {"path": "string", "verb": "string"}
        ),
    },
)
_RULES_REVIEW_SPEC = struct("SelfSubjectRulesReviewSpec", "v1.SelfSubjectRulesReviewSpec", {"namespace": "string"})


async def _review_body(request: web.Request, rtype: ResourceType, spec_schema: tuple) -> dict:
    """The request body of a review: a JSON object of this kind whose spec decodes."""
    if request.method != "POST":
        raise method_not_allowed(request.method)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    if body.get("kind") not in (None, rtype.kind) or body.get("apiVersion") not in (None, rtype.api_version):
        raise bad_request(
            f"the body is {body.get('apiVersion')}/{body.get('kind')}, the URL expects {rtype.api_version}/{rtype.kind}"
        )
    try:
        check_value(body.get("spec"), spec_schema, rtype.kind, "spec")
    except DecodeError as err:
        raise bad_request(
            f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: {err}'
        ) from None
    return body


async def token_request(
    request: web.Request, route: ApiRoute, store: Store, authenticator: Authenticator
) -> web.Response:
    """POST serviceaccounts/<name>/token."""
    body = await _review_body(request, TOKEN_REQUEST, _TOKEN_REQUEST_SPEC)
    account = current_object(store, route)  # serviceaccounts "x" not found
    spec = body.get("spec") or {}
    expiration = spec.get("expirationSeconds")
    expiration = 3600 if expiration is None else expiration  # SetDefaults_TokenRequestSpec
    errors = Invalid(TOKEN_REQUEST, (body.get("metadata") or {}).get("name", ""))
    if expiration < MIN_TOKEN_SECONDS:
        errors.invalid("spec.expirationSeconds", expiration, "may not specify a duration less than 10 minutes")
    if expiration > MAX_TOKEN_SECONDS:
        errors.invalid("spec.expirationSeconds", expiration, "may not specify a duration larger than 2^32 seconds")
    errors.raise_if_any()
    if spec.get("boundObjectRef"):
        raise bad_request(
            "this sandbox does not bind tokens to objects (spec.boundObjectRef); "
            "request a token bound to the ServiceAccount only"
        )
    audiences = spec.get("audiences") or [API_AUDIENCE]
    token, expires = authenticator.issue(account, expiration, audiences)
    meta = account["metadata"]
    return json_response(
        {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "creationTimestamp": now_rfc3339()},
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": None},
            "status": {
                "token": token,
                "expirationTimestamp": datetime.datetime.fromtimestamp(expires, datetime.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
            },
        },
        201,
    )


def _go_struct(name: str, fields: dict, keys: tuple[str, ...]) -> str:
    """&authorization.X{...} as Go's %#v prints the struct a pointer points to."""
    inner = ", ".join(f'{k[0].upper()}{k[1:]}:"{fields.get(k, "")}"' for k in keys)
    return f"authorization.{name}{{{inner}}}"


async def self_subject_access_review(
    request: web.Request, route: ApiRoute, user: UserInfo, authorizer: RBACAuthorizer
) -> web.Response:
    rtype = route.rtype
    body = await _review_body(request, rtype, _ACCESS_REVIEW_SPEC)
    spec = body.get("spec") or {}
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    errors = Invalid(rtype, "")
    if resource is not None and non_resource is not None:
        errors.invalid(
            "spec.nonResourceAttributes",
            non_resource,
            "cannot be specified in combination with resourceAttributes",
            _go_struct("NonResourceAttributes", non_resource, ("path", "verb")),
        )
    if resource is None and non_resource is None:
        errors.invalid(
            "spec.resourceAttributes",
            "null",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
    errors.raise_if_any()
    if resource is not None:
        attrs = Attributes(
            user,
            resource.get("verb", ""),
            True,
            api_group=resource.get("group", ""),
            api_version=resource.get("version") or "*",
            namespace=resource.get("namespace", ""),
            resource=resource.get("resource", ""),
            subresource=resource.get("subresource", ""),
            name=resource.get("name", ""),
        )
    else:
        attrs = Attributes(user, non_resource.get("verb", ""), False, path=non_resource.get("path", ""))
    allowed, reason = authorizer.authorize(attrs)
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return json_response(
        {
            "kind": rtype.kind,
            "apiVersion": rtype.api_version,
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        },
        201,
    )


async def self_subject_rules_review(
    request: web.Request, route: ApiRoute, user: UserInfo, authorizer: RBACAuthorizer
) -> web.Response:
    rtype = route.rtype
    body = await _review_body(request, rtype, _RULES_REVIEW_SPEC)
    namespace = (body.get("spec") or {}).get("namespace")
    if not namespace:
        raise bad_request("no namespace on request")
    rules, errors = authorizer.rules_for(user, namespace)
    resource_rules = [
        {k: list(rule[k]) for k in ("verbs", "apiGroups", "resources", "resourceNames") if rule.get(k)}
        for rule in rules
        if rule.get("resources")
    ]
    non_resource_rules = [
        {k: list(rule[k]) for k in ("verbs", "nonResourceURLs") if rule.get(k)}
        for rule in rules
        if rule.get("nonResourceURLs")
    ]
    status: dict[str, Any] = {
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": False,
    }
    if errors:
        status["evaluationError"] = aggregate(errors)
    return json_response(
        {
            "kind": rtype.kind,
            "apiVersion": rtype.api_version,
            "metadata": {"creationTimestamp": None},
            "spec": {},
            "status": status,
        },
        201,
    )


async def self_subject_review(request: web.Request, route: ApiRoute, user: UserInfo) -> web.Response:
    rtype = route.rtype
    await _review_body(request, rtype, struct("SelfSubjectReviewSpec", "", {}))
    return json_response(
        {
            "kind": rtype.kind,
            "apiVersion": rtype.api_version,
            "metadata": {"creationTimestamp": now_rfc3339()},
            "status": {"userInfo": user.to_json()},
        },
        201,
    )
