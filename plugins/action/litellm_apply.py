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

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash
from ansible_collections.homelab.litellm.plugins.module_utils import _rendered

REFUSED = (
    "Nothing was sent and nothing was written: Ansible would write this task's arguments, the provider keys "
    "among them, into a file under ~/.ansible/tmp on %s (%s). Run it with pipelining (the role sets "
    "ansible_pipelining: true; ansible.cfg [connection] pipelining = True) and without keep_remote_files."
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def _why_not_pipelined(self, wrap_async):
        if C.DEFAULT_KEEP_REMOTE_FILES:
            return "ANSIBLE_KEEP_REMOTE_FILES / keep_remote_files is on, which turns pipelining off"
        if wrap_async and not self._connection.has_native_async:
            return "async tasks are never pipelined"
        if self._connection.become and not self._connection.become.pipelining:
            return "become method %s cannot pipeline" % self._connection.become.name
        return "pipelining is off for this host (ansible_pipelining / [connection] pipelining)"

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        if not self._is_pipelining_enabled("new", wrap_async):
            host = (task_vars or {}).get("inventory_hostname", "the target")
            result.update(failed=True, changed=False, msg=REFUSED % (host, self._why_not_pipelined(wrap_async)))
            return result
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
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
