# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of homelab.litellm.litellm_apply: refuses to send the task when its arguments would land on disk.

The task carries the provider keys. With pipelining, Ansible hands the module and its arguments
to the interpreter on stdin; without it (pipelining off for the host, ANSIBLE_KEEP_REMOTE_FILES,
a become method that cannot pipeline, async), it writes AnsiballZ_litellm_apply.py with the keys
inside into ~/.ansible/tmp on the target, and with keep_remote_files leaves it there.

With ``mode: render`` the module only reads the cluster and answers the rendered files (their texts
hold no key value: the module refuses to render one); they are written here, on the controller,
where the operator's Git checkout is, whatever host the module ran on.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible_collections.homelab.litellm.plugins.module_utils import _rendered
from ansible_collections.homelab.litellm.plugins.plugin_utils.pipelined import PipelinedOnly


class ActionModule(PipelinedOnly):
    ALWAYS = True  # the task always carries the provider keys (and maybe the master key)
    WHAT = "the provider keys"

    def _after(self, result):
        if self._task.args.get("mode") == "render" and not result.get("failed"):
            self._write_rendered(result)
        return result

    def _write_rendered(self, result):
        rendered = result.pop("rendered", None) or {}
        path = self._task.args.get("render_path")
        try:
            written = _rendered.write_files(path, rendered.get("files") or {}, check_mode=self._task.check_mode)
        except (OSError, ValueError) as err:
            raise AnsibleActionFail("could not write the rendered files under %s: %s" % (path, err))
        result["changed"] = any(entry["changed"] for entry in written)
        result["rendered"] = {
            "format": rendered.get("format"),
            "path": path,
            "files": [{"name": e["name"], "path": e["path"], "changed": e["changed"]} for e in written],
        }
        if self._task.diff:
            result["diff"] = _rendered.diffs_of(written)
