"""Authentication: who sends a request.

Two kinds of bearer token, as on a cluster with the static admin credential of
``sandbox up``'s kubeconfig and the ServiceAccount token authenticator:

* the admin token authenticates as ``sandbox-admin`` in ``system:masters``
  (the group kube-apiserver lets do anything, before RBAC is asked);
* a token from the TokenRequest API (``serviceaccounts/<name>/token``)
  authenticates as ``system:serviceaccount:<ns>:<name>`` in
  ``system:serviceaccounts``, ``system:serviceaccounts:<ns>`` and
  ``system:authenticated`` while it has not expired, its audience includes the
  API server's, and the ServiceAccount it was issued for still exists with the
  same uid (kube-apiserver's service account token validation looks the
  ServiceAccount up the same way).

Anything else is 401 Unauthorized.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from ..store import Store

ADMIN_USER = "sandbox-admin"
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
SA_PREFIX = "system:serviceaccount:"
# What kube-apiserver's --api-audiences (and the issuer) typically are.
API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def is_master(self) -> bool:
        return MASTERS in self.groups

    def to_json(self) -> dict:
        """The UserInfo of authentication.k8s.io/v1 (SelfSubjectReview, TokenReview)."""
        out: dict = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra}
        return out


ADMIN = UserInfo(ADMIN_USER, groups=(MASTERS, AUTHENTICATED))
# Who sent a request, as the middleware found out.
USER_KEY = web.RequestKey("user", UserInfo)


def service_account_user(namespace: str, name: str) -> str:
    return f"{SA_PREFIX}{namespace}:{name}"


def split_service_account_user(user: str) -> tuple[str, str] | None:
    """(namespace, name) of a ServiceAccount user name, or None for another user."""
    if not user.startswith(SA_PREFIX):
        return None
    namespace, sep, name = user[len(SA_PREFIX) :].partition(":")
    return (namespace, name) if sep and namespace and name and ":" not in name else None


def service_account_groups(namespace: str) -> tuple[str, ...]:
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")


@dataclass
class IssuedToken:
    namespace: str
    name: str
    uid: str
    expires: float  # epoch seconds
    audiences: tuple[str, ...]
    jti: str = field(default_factory=lambda: str(uuid.uuid4()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Authenticator:
    """The admin token and the ServiceAccount tokens this server issued."""

    def __init__(self, store: Store, admin_token: str, legacy_key: bytes | None = None) -> None:
        self.store = store
        self.admin_token = admin_token
        self.tokens: dict[str, IssuedToken] = {}
        self._key = secrets.token_bytes(32)
        # What the token controller signs the tokens of service-account-token Secrets with (the
        # controller-manager's --service-account-private-key-file, the API server's key file).
        self.legacy_key = legacy_key or secrets.token_bytes(32)

    def authenticate(self, request: web.Request) -> UserInfo | None:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = credentials.strip()
        if hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return ADMIN
        return self._service_account(token)

    def _service_account(self, token: str) -> UserInfo | None:
        issued = self.tokens.get(token)
        if issued is None:
            return self._legacy_service_account(token)
        if time.time() >= issued.expires:
            del self.tokens[token]
            return None
        if API_AUDIENCE not in issued.audiences:
            return None  # a token for another audience is not for this server
        account = self.store.get("serviceaccounts", issued.namespace, issued.name)
        if (
            account is None
            or account["metadata"].get("uid") != issued.uid
            or account["metadata"].get("deletionTimestamp")
        ):
            return None  # deleted, or deleted and created again: a new account
        return UserInfo(
            service_account_user(issued.namespace, issued.name),
            issued.uid,
            service_account_groups(issued.namespace) + (AUTHENTICATED,),
            (("authentication.kubernetes.io/credential-id", (f"JTI={issued.jti}",)),),
        )

    def _legacy_service_account(self, token: str) -> UserInfo | None:
        """A token of a service-account-token Secret (pkg/serviceaccount/legacy.go, legacyValidator):
        signed by the token controller, its Secret still there holding this very token, its
        ServiceAccount the one named, with the same uid."""
        claims = verify_legacy_token(self.legacy_key, token)
        if claims is None:
            return None
        namespace = claims.get(f"{LEGACY_CLAIM}/namespace", "")
        secret = self.store.get("secrets", namespace, claims.get(f"{LEGACY_CLAIM}/secret.name", ""))
        if secret is None or secret["metadata"].get("deletionTimestamp"):
            return None
        stored = (secret.get("data") or {}).get("token", "")
        if not hmac.compare_digest(stored.encode(), base64.b64encode(token.encode())):
            return None
        name, uid = (
            claims.get(f"{LEGACY_CLAIM}/service-account.name", ""),
            claims.get(f"{LEGACY_CLAIM}/service-account.uid"),
        )
        account = self.store.get("serviceaccounts", namespace, name)
        if account is None or account["metadata"].get("uid") != uid or account["metadata"].get("deletionTimestamp"):
            return None
        return UserInfo(
            service_account_user(namespace, name), uid, service_account_groups(namespace) + (AUTHENTICATED,)
        )

    def issue(self, account: dict, expiration_seconds: int, audiences: list[str]) -> tuple[str, float]:
        """A token for a ServiceAccount object: (token, expiry in epoch seconds).

        JWT-shaped with the claims a real ServiceAccount token carries, so that a
        client reading ``exp`` sees what it would see; the signature is an HMAC of
        this server's, and the server still checks every token against its own
        record.
        """
        meta = account["metadata"]
        now = int(time.time())
        issued = IssuedToken(meta["namespace"], meta["name"], meta["uid"], now + expiration_seconds, tuple(audiences))
        claims = {
            "aud": list(audiences),
            "exp": now + expiration_seconds,
            "iat": now,
            "iss": API_AUDIENCE,
            "jti": issued.jti,
            "kubernetes.io": {
                "namespace": issued.namespace,
                "serviceaccount": {"name": issued.name, "uid": issued.uid},
            },
            "nbf": now,
            "sub": service_account_user(issued.namespace, issued.name),
        }
        header = {"alg": "HS256", "typ": "JWT"}
        signing_input = ".".join(_b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64(signature)}"
        self.tokens[token] = issued
        return token, float(issued.expires)


LEGACY_ISSUER = "kubernetes/serviceaccount"
LEGACY_CLAIM = "kubernetes.io/serviceaccount"


def sign_legacy_token(key: bytes, secret: dict, account: dict) -> str:
    """The token of a service-account-token Secret, with legacy.go's LegacyClaims (no expiry)."""
    namespace, name = account["metadata"]["namespace"], account["metadata"]["name"]
    claims = {
        "iss": LEGACY_ISSUER,
        f"{LEGACY_CLAIM}/namespace": namespace,
        f"{LEGACY_CLAIM}/secret.name": secret["metadata"]["name"],
        f"{LEGACY_CLAIM}/service-account.name": name,
        f"{LEGACY_CLAIM}/service-account.uid": account["metadata"]["uid"],
        "sub": service_account_user(namespace, name),
    }
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = ".".join(_b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    return f"{signing_input}.{_b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def verify_legacy_token(key: bytes, token: str) -> dict | None:
    """The claims of a legacy token signed with ``key``, or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    expected = _b64(hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected.encode(), parts[2].encode()):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) and claims.get("iss") == LEGACY_ISSUER else None


# -- impersonation ------------------------------------------------------------------


@dataclass(frozen=True)
class Impersonation:
    """One thing an Impersonate-* header asks to act as, and the resource RBAC checks for it."""

    resource: str  # users, groups, serviceaccounts, uids, userextras
    name: str
    namespace: str = ""
    group: str = ""  # API group: "" or authentication.k8s.io
    subresource: str = ""  # the extra's key, for userextras


def impersonation_requests(request: web.Request) -> list[Impersonation]:
    """What the Impersonate-* headers ask for (kubectl --as, --as-group, --as-uid).

    Raises ValueError for groups, extras or a uid without a user, which
    kube-apiserver refuses too.
    """
    headers = request.headers
    wanted: list[Impersonation] = []
    user = headers.get("Impersonate-User")
    if user:
        account = split_service_account_user(user)
        wanted.append(
            Impersonation("serviceaccounts", account[1], account[0]) if account else Impersonation("users", user)
        )
    wanted += [Impersonation("groups", g) for g in headers.getall("Impersonate-Group", [])]
    for key in headers:
        if key.lower().startswith("impersonate-extra-"):
            extra_key = key[len("impersonate-extra-") :].lower()
            wanted += [
                Impersonation("userextras", v, group="authentication.k8s.io", subresource=extra_key)
                for v in headers.getall(key)
            ]
    if headers.get("Impersonate-Uid"):
        wanted.append(Impersonation("uids", headers["Impersonate-Uid"], group="authentication.k8s.io"))
    if wanted and not user:
        raise ValueError(f"requested {[w.resource for w in wanted]} without impersonating a user")
    return list(dict.fromkeys(wanted))


def impersonated_user(wanted: list[Impersonation], groups_given: bool) -> UserInfo:
    """The user a request acts as once every impersonation was allowed (filters/impersonation.go)."""
    name, uid, groups, extra = "", "", [], {}
    for item in wanted:
        if item.resource == "serviceaccounts":
            name = service_account_user(item.namespace, item.name)
            if not groups_given:
                groups = list(service_account_groups(item.namespace))
        elif item.resource == "users":
            name = item.name
        elif item.resource == "groups":
            groups.append(item.name)
        elif item.resource == "userextras":
            extra.setdefault(item.subresource, []).append(item.name)
        elif item.resource == "uids":
            uid = item.name
    if name != "system:anonymous" and not {AUTHENTICATED, "system:unauthenticated"} & set(groups):
        groups.append(AUTHENTICATED)
    return UserInfo(name, uid, tuple(groups), tuple((k, tuple(v)) for k, v in extra.items()))
