"""Make the collection importable in plain ``pytest`` runs from the repository root.

Under ``ansible-test units`` the code is imported as ``ansible_collections.homelab.litellm...``;
plain pytest imports it as ``plugins.module_utils...`` from the repository root added here.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = str(Path(__file__).resolve().parents[2])
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
