# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: is the ansible-playbook that started this run still there?

ansible-core's task worker calls ``setsid()``, so ``kill -9`` of ansible-playbook, or of its whole
process group (a CI job cancelled, an OOM kill), leaves the worker and this module running with
nobody to report to. The module looks among its *own* ancestors (its own process tree, in its own
PID namespace) for the outermost ansible-playbook process and remembers its pid together with its
start time, so a reused pid is not taken for it. A watcher thread notices within a second that it
is gone and stops the run: the run then undoes its own writes, frees its lock and exits.

This never judges another run's lock holder: that is decided by Lease renewal alone (``_lock``).
Without /proc (not Linux) or without an ansible-playbook among the ancestors (a module started over
SSH on another host), the direct parent is watched instead: when it dies the module is re-parented.
"""

from __future__ import annotations

import os
import signal
import threading

PLAYBOOK = "ansible-playbook"
POLL_SECONDS = 0.5


def _stat(pid, proc):
    """(parent pid, start time in clock ticks) of ``pid``, or None when it does not exist."""
    try:
        with open("%s/%d/stat" % (proc, pid)) as handle:
            # The command name may hold spaces and parentheses: the fields start after the last ')'.
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def _runs_playbook(pid, proc):
    try:
        with open("%s/%d/cmdline" % (proc, pid), "rb") as handle:
            words = handle.read().split(b"\0")
    except OSError:
        return False
    return any(os.path.basename(word.decode("utf-8", "replace")) == PLAYBOOK for word in words[:2])


def find_controller(pid=None, proc="/proc"):
    """``(pid, start time)`` of the process this run answers to, or None when it cannot be told.

    The outermost of the nearest ansible-playbook processes among the ancestors of ``pid`` (the task
    workers are forks of it with the same command line), not one further up that ran that playbook
    as a command; else the direct parent.
    """
    pid = pid or os.getpid()
    own = _stat(pid, proc)
    if own is None:
        return None
    found, current, parent = None, pid, own[0]
    for _depth in range(64):
        if current != pid and _runs_playbook(current, proc):
            found = current
        elif found is not None:
            break
        if parent <= 1:
            break
        current = parent
        stat = _stat(current, proc)
        if stat is None:
            break
        parent = stat[0]
    if found is None:
        found = own[0]
    stat = _stat(found, proc)
    return (found, stat[1]) if stat else None


def alive(identity, proc="/proc"):
    """Whether the process ``identity`` (pid, start time) still runs (a zombie no longer counts)."""
    pid, started = identity
    stat = _stat(pid, proc)
    if stat is None or stat[1] != started:
        return False
    try:
        with open("%s/%d/status" % (proc, pid)) as handle:
            for line in handle:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except OSError:
        return False
    return True


class ControllerWatch:
    """A daemon thread that sets ``gone`` and calls ``on_gone()`` once the controller has ended."""

    def __init__(self, identity, on_gone, proc="/proc", poll=POLL_SECONDS):
        self.identity = identity
        self.gone = threading.Event()
        self._on_gone = on_gone
        self._proc = proc
        self._poll = poll
        self._stop = threading.Event()

    def start(self):
        if self.identity is not None:
            threading.Thread(target=self._run, name="controller-watch", daemon=True).start()
        return self

    def _run(self):
        while not self._stop.wait(self._poll):
            if not alive(self.identity, self._proc):
                self.gone.set()
                self._on_gone()
                return

    def stop(self):
        self._stop.set()


def interrupt_main_thread(signum=signal.SIGTERM):
    """Deliver ``signum`` to this process's main thread, so that a blocking call there ends at once."""
    signal.pthread_kill(threading.main_thread().ident, signum)
