# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: interrupt ansible-playbook at a chosen point, as Ctrl-C or kill -9 would.

INTERRUPT_TASK   a substring of the task name to act on
INTERRUPT_WHEN   "after" (the task returned ok) or "during" (INTERRUPT_DELAY seconds after it started)
INTERRUPT_SIGNAL INT (Ctrl-C: the terminal sends it to the whole foreground process group) or KILL
                 (the runner and everything it started die at once)

The signal goes to ansible-playbook's process group, so start the playbook in a session of its own.
"""

from __future__ import annotations

import os
import signal
import threading

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "interrupt"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._task = os.environ.get("INTERRUPT_TASK", "")
        self._when = os.environ.get("INTERRUPT_WHEN", "after")
        self._delay = float(os.environ.get("INTERRUPT_DELAY", "2"))
        self._signal = getattr(signal, "SIG" + os.environ.get("INTERRUPT_SIGNAL", "INT"))
        self._done = False

    def _interrupt(self):
        if not self._done:
            self._done = True
            os.killpg(os.getpgrp(), self._signal)

    def v2_playbook_on_task_start(self, task, is_conditional):
        if self._task and self._when == "during" and self._task in task.get_name():
            threading.Timer(self._delay, self._interrupt).start()

    def v2_runner_on_ok(self, result):
        if self._task and self._when == "after" and self._task in result.task_name:
            self._interrupt()
