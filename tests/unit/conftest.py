"""Make the collection importable in plain ``pytest`` runs from the repository root.

Under ``ansible-test units`` the code is imported as ``ansible_collections.homelab.litellm...``;
plain pytest imports it as ``plugins.module_utils...`` from the repository root added here, and
modules (which import their module_utils by the collection name) through ``.collections``, whose
``ansible_collections/homelab/litellm`` links to the repository root.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
for path in (str(REPO_ROOT), str(REPO_ROOT / ".collections")):
    if path not in sys.path:
        sys.path.insert(0, path)
