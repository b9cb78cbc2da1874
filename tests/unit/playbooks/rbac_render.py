# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render playbooks/templates/rbac.yml.j2 as rbac.yml's template lookup does; also a script
(``python rbac_render.py '<__rbac as JSON>'``) so a test can render it in a fresh interpreter.

Only Jinja2 and Ansible's set filters are imported: a fresh interpreter starts in a fraction of a second.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jinja2
from ansible.plugins.filter.mathstuff import difference, union

TEMPLATE = Path(__file__).resolve().parents[3] / "playbooks" / "templates" / "rbac.yml.j2"


def render_template(rbac: dict) -> str:
    """The template with ``__rbac`` (trim_blocks on, the default of Ansible's template lookup)."""
    environment = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    environment.filters.update(union=union, difference=difference)
    return environment.from_string(TEMPLATE.read_text()).render(__rbac=rbac)


if __name__ == "__main__":
    print(render_template(json.loads(sys.argv[1])))
