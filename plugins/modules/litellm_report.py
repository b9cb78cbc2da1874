#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_report
short_description: Write the JSON report of a homelab.litellm run on the controller
version_added: 0.2.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - Writes O(content) as indented JSON (keys sorted) to O(path), atomically, with O(mode). The file
    is left alone when it already holds exactly that.
  - An action plugin does the work on the controller, without starting a module process, so the
    report costs a run next to nothing. The report holds names only - the role never puts a key
    value into it.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: The report is written whole; there is no diff.
  platform:
    support: full
    platforms: all
    details: Runs on the controller.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  path:
    description: Where to write the report, on the controller.
    type: path
    required: true
  content:
    description: What to write.
    type: dict
    required: true
  mode:
    description: File mode of the report.
    type: raw
    default: "0600"
seealso:
  - module: homelab.litellm.litellm_plan"""

EXAMPLES = r"""
- name: Write the run report
  homelab.litellm.litellm_report:
    path: /tmp/litellm-run.json
    content: {restarted: true, models: [groq/openai/gpt-oss-120b]}
"""

RETURN = r"""
path:
  description: The path written.
  returned: always
  type: str
  sample: /tmp/litellm-run.json
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.litellm.plugins.module_utils import _report


def argument_spec():
    return dict(
        path=dict(type="path", required=True),
        content=dict(type="dict", required=True),
        mode=dict(type="raw", default="0600"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    mode = _report.file_mode(params["mode"])
    changed = _report.write_report(params["path"], params["content"], mode=mode, check_mode=module.check_mode)
    module.exit_json(changed=changed, path=params["path"])


if __name__ == "__main__":
    main()
