# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugins of the modules that take a secret as an argument: the task is sent only pipelined.

With pipelining, Ansible hands the module and its arguments to the interpreter on stdin; without it
(pipelining off for the host, ANSIBLE_KEEP_REMOTE_FILES, a become method that cannot pipeline,
async) it writes AnsiballZ_<module>.py, the arguments inside, into ~/.ansible/tmp on the target, and
with keep_remote_files leaves it there. A task that carries a provider key or a master key is refused
instead, before anything is sent.
"""

from __future__ import annotations

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

REFUSED = (
    "Nothing was sent and nothing was written: Ansible would write this task's arguments, %s among them, "
    "into a file under ~/.ansible/tmp on %s (%s). Run it with pipelining (the role sets "
    "ansible_pipelining: true; ansible.cfg [connection] pipelining = True) and without keep_remote_files."
)

# kubernetes.core's connection options that hold a credential (every module here takes them).
CONNECTION_SECRETS = ("api_key", "password")


class PipelinedOnly(ActionBase):
    """Refuses, before anything is sent, a task whose secret arguments would be written to a file.

    ``SECRET_ARGS``: the module's arguments that hold a secret; the task is refused when one of them
    is given (not empty) and Ansible would not pipeline it. ``ALWAYS``: refuse whatever is given.
    ``WHAT``: what the message calls those arguments.
    """

    TRANSFERS_FILES = False
    SECRET_ARGS = ()
    ALWAYS = False
    WHAT = "the secrets"

    def _why_not_pipelined(self, wrap_async):
        if C.DEFAULT_KEEP_REMOTE_FILES:
            return "ANSIBLE_KEEP_REMOTE_FILES / keep_remote_files is on, which turns pipelining off"
        if wrap_async and not self._connection.has_native_async:
            return "async tasks are never pipelined"
        if self._connection.become and not self._connection.become.pipelining:
            return "become method %s cannot pipeline" % self._connection.become.name
        return "pipelining is off for this host (ansible_pipelining / [connection] pipelining)"

    def _carries_secrets(self):
        args = self._task.args
        if self.ALWAYS or any(args.get(name) for name in self.SECRET_ARGS + CONNECTION_SECRETS):
            return True
        return isinstance(args.get("kubeconfig"), dict)  # a kubeconfig given inline holds its credentials

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        if self._carries_secrets() and not self._is_pipelining_enabled("new", wrap_async):
            host = (task_vars or {}).get("inventory_hostname", "the target")
            result.update(
                failed=True, changed=False, msg=REFUSED % (self.WHAT, host, self._why_not_pipelined(wrap_async))
            )
            return result
        return self._after(merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async)))

    def _after(self, result):
        """What the plugin does with the module's result on the controller (nothing by default)."""
        return result
