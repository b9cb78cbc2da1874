# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: one JSON line per task result, with wall-clock times.

Enabled by bench/run.py (ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins,
ANSIBLE_CALLBACKS_ENABLED=bench_timing, BENCH_TIMING_FILE=<path>); not shipped.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timing
type: aggregate
short_description: Write per-task wall-clock start/end times as JSON lines (bench only)
description: Writes one JSON line per task result to the file in BENCH_TIMING_FILE.
options: {}
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("BENCH_TIMING_FILE")
        self._started = {}
        self._playbook_start = time.time()

    def _write(self, record):
        if self._path:
            with open(self._path, "a") as handle:
                handle.write(json.dumps(record) + "\n")

    def v2_playbook_on_start(self, playbook):
        self._write({"event": "playbook_start", "time": time.time()})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.time()

    def v2_playbook_on_handler_task_start(self, task):
        self._started[task._uuid] = time.time()

    def _result(self, result, status):
        task = result._task
        now = time.time()
        data = result._result if isinstance(result._result, dict) else {}
        record = {
            "event": "result",
            "task": task.get_name(),
            "action": task.action,
            "status": status,
            "start": self._started.get(task._uuid, now),
            "end": now,
            "changed": bool(data.get("changed")),
        }
        for key in ("restarted", "rollout_seconds", "ready_at", "readiness_seconds", "wait_seconds", "duration"):
            if key in data:
                record[key] = data[key]
        self._write(record)

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_playbook_on_stats(self, stats):
        self._write({"event": "playbook_end", "time": time.time()})
