# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of homelab.litellm.litellm_report: writes the report on the controller, in-process."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.homelab.litellm.plugins.module_utils import _report
from ansible_collections.homelab.litellm.plugins.modules.litellm_report import argument_spec


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _options, args = self.validate_argument_spec(argument_spec=argument_spec())
        try:
            mode = _report.file_mode(args["mode"])
        except ValueError as err:
            raise AnsibleActionFail(str(err))
        try:
            changed = _report.write_report(args["path"], args["content"], mode=mode, check_mode=self._task.check_mode)
        except OSError as err:
            raise AnsibleActionFail("could not write the report to %s: %s" % (args["path"], err))
        result.update(changed=changed, path=args["path"])
        return result
