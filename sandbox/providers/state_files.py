"""The files under ``state_dir``: the ones tests write, the request log they read.

Keys reach the request log only as :func:`key_sha256` and :func:`key_fingerprint`.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from typing import Any

VALID_KEYS_FILE = "valid-keys.json"
KNOBS_FILE = "providers.json"
REQUEST_LOG_FILE = "provider-requests.jsonl"


def key_sha256(key: str) -> str:
    """The full sha256 hex of ``key``, as logged: proves which key was sent without showing it."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_fingerprint(key: str) -> str:
    """A short loggable fingerprint of ``key``: its first 4 characters and a short sha256."""
    return f"{key[:4]}...{key_sha256(key)[:12]}"


def _read_json_file(path: pathlib.Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
