"""The sandbox's Kubernetes API server emulator.

Serves the part of the Kubernetes REST API that kubectl 1.32, the kubernetes
Python client (typed APIs and DynamicClient) and kubernetes.core 6.x use, on
top of :class:`sandbox.store.Store`. One module per concern:

* ``resources`` -- the resource types served; ``discovery`` -- ``/api``,
  ``/apis``, group versions, ``/version`` and a minimal ``/openapi/v3`` that
  tells kubectl the server validates fields itself;
* ``server`` -- authentication, URL dispatch (``routes``) and the verbs: GET,
  LIST, POST, PUT, PATCH, DELETE and DELETE collection, ``dryRun=All``;
  ``watch`` -- WATCH streams; ``subresources`` -- scale, pod logs and the
  service proxy (the last two delegate to :class:`Hooks`, implemented by the
  cluster);
* ``selectors`` -- label and field selectors; ``patches`` -- JSON patch, merge
  patch, strategic merge patch (also used by server-side apply);
* ``validation`` -- defaulting and validation the way the real API server
  does it for the fields clients depend on; ``tables`` -- server-side Table
  output for ``kubectl get``;
* ``bodies`` -- JSON request bodies, plus (``protobuf``) the protobuf bodies of
  ``kubectl create configmap|secret|namespace``; ``responses`` -- JSON and
  Status responses; ``errors`` -- the Status errors beyond the store's;
  ``faults`` -- requests failed or held on demand (``<state-dir>/api-faults.json``).

Serve the app over HTTPS (``sandbox.tls``): kubectl never sends a
kubeconfig's bearer token to an ``http://`` server.

The store is synchronous and every handler runs on one event loop, so a
read-modify-write inside a handler is atomic without locks.
"""

from ..store import ApiError
from .patches import json_patch, merge_patch, strategic_merge
from .protobuf import decode_protobuf
from .resources import find_resource
from .selectors import labels_match, object_predicate, parse_label_selector, selector_string
from .server import API_SERVER, build_app
from .subresources import Hooks
from .tables import human_duration
from .validation import apply_defaults, fold_string_data, validate

__all__ = [
    "API_SERVER",
    "ApiError",
    "Hooks",
    "apply_defaults",
    "build_app",
    "decode_protobuf",
    "find_resource",
    "fold_string_data",
    "human_duration",
    "json_patch",
    "labels_match",
    "merge_patch",
    "object_predicate",
    "parse_label_selector",
    "selector_string",
    "strategic_merge",
    "validate",
]
