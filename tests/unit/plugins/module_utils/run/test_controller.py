# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/run/controller.py: is the ansible-playbook that started the run still there?

``find_controller`` and ``alive`` read a process tree laid out like Linux /proc in tmp_path.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.run import controller as ctl

PLAYBOOK = ["/usr/bin/python3.11", "/home/alice/.venv/bin/ansible-playbook", "playbooks/site.yml"]
INNER = ["/usr/bin/python3.11", "/usr/local/bin/ansible-playbook", "-i", "inventory", "upgrade.yml"]
PROCESSES = {
    # pid: (command name, parent, command line, start time in clock ticks)
    1: ("init", 0, ["/sbin/init"], 1),
    100: ("bash", 1, ["-bash"], 5000),
    200: ("ansible-playboo", 100, PLAYBOOK, 7000),
    300: ("ansible-playboo", 200, PLAYBOOK, 7100),  # the task worker, a fork
    350: ("sh", 300, ["/bin/sh", "-c", "python3 AnsiballZ_litellm_apply.py"], 7110),
    400: ("python3", 350, ["python3", "/home/alice/.ansible/tmp/AnsiballZ_litellm_apply.py"], 7120),
    500: ("python3 (odd) name", 1, ["python3", "-m", "pytest"], 8000),
    600: ("ansible-playbook", 1, ["ansible-playbook", "x.yml"], 9000),  # started directly, no interpreter word
    610: ("ansible-playbook", 600, ["ansible-playbook", "x.yml"], 9010),
    620: ("python3", 610, ["python3", "AnsiballZ_litellm_apply.py"], 9020),
    # A playbook whose command task runs another ansible-playbook: the module answers to the inner one.
    700: ("python3", 300, ["python3", "AnsiballZ_command.py"], 7200),
    710: ("ansible-playboo", 700, INNER, 7300),
    720: ("ansible-playboo", 710, INNER, 7310),
    730: ("python3", 720, ["python3", "AnsiballZ_litellm_apply.py"], 7320),
}


def write_process(root, pid, comm, parent, words, started, state="S (sleeping)"):
    directory = root / str(pid)
    directory.mkdir(exist_ok=True)
    (directory / "cmdline").write_bytes(b"\0".join(word.encode() for word in words) + b"\0")
    (directory / "stat").write_text(
        "%d (%s) %s %d %d %d 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n"
        % (pid, comm, state[0], parent, pid, pid, started)
    )
    (directory / "status").write_text("Name:\t%s\nUmask:\t0022\nState:\t%s\nPPid:\t%d\n" % (comm, state, parent))


@pytest.fixture(name="proc")
def fixture_proc(tmp_path):
    for pid, (comm, parent, words, started) in PROCESSES.items():
        write_process(tmp_path, pid, comm, parent, words, started)
    return tmp_path


@pytest.mark.parametrize(
    "start, found",
    [
        (400, (200, 7000)),  # the module, under sh under the worker under the playbook
        (350, (200, 7000)),
        (300, (200, 7000)),
        (620, (600, 9000)),
        (730, (710, 7300)),  # the nearest playbook, not the one that ran it as a command
        (500, (1, 1)),  # not run by ansible-playbook: the parent
        (100, (1, 1)),
        (200, (100, 5000)),  # a process is never its own controller
    ],
)
def test_find_controller(proc, start, found):
    assert ctl.find_controller(start, str(proc)) == found


def test_find_controller_of_no_such_process(proc):
    assert ctl.find_controller(9999, str(proc)) is None


def test_find_controller_of_a_broken_stat(proc):
    (proc / "400" / "stat").write_text("garbage")
    assert ctl.find_controller(400, str(proc)) is None


def test_find_controller_when_the_parent_is_already_gone(proc):
    """Re-parented while it looked: the parent's entry is gone, so there is nothing to watch."""
    write_process(proc, 800, "python3", 801, ["python3"], 10)
    assert ctl.find_controller(800, str(proc)) is None


@pytest.mark.parametrize(
    "identity, running",
    [
        ((200, 7000), True),
        ((200, 6999), False),  # the pid was reused by another process
        ((9999, 7000), False),
        ((1, 1), True),
    ],
)
def test_alive(proc, identity, running):
    assert ctl.alive(identity, str(proc)) is running


def test_a_zombie_is_not_alive(proc):
    write_process(proc, 200, "ansible-playboo", 100, PLAYBOOK, 7000, state="Z (zombie)")
    assert ctl.alive((200, 7000), str(proc)) is False


def test_a_process_without_a_status_is_not_alive(proc):
    (proc / "200" / "status").unlink()
    assert ctl.alive((200, 7000), str(proc)) is False


def test_the_real_parent_of_this_test_is_alive():
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc here")
    identity = ctl.find_controller()
    assert identity is not None and ctl.alive(identity)


def wait_until(condition, seconds=2.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def test_the_watch_calls_back_once_when_the_controller_goes(proc):
    calls = []
    watch = ctl.ControllerWatch((200, 7000), lambda: calls.append("gone"), proc=str(proc), poll=0.01).start()
    time.sleep(0.05)
    assert calls == [] and not watch.gone.is_set()
    for name in ("stat", "cmdline", "status"):
        (proc / "200" / name).unlink()
    assert wait_until(watch.gone.is_set)
    time.sleep(0.05)
    assert calls == ["gone"]


def test_the_watch_sees_a_reused_pid(proc):
    watch = ctl.ControllerWatch((200, 7000), lambda: None, proc=str(proc), poll=0.01).start()
    write_process(proc, 200, "nginx", 1, ["nginx"], 123456)
    assert wait_until(watch.gone.is_set)


def test_a_stopped_watch_never_calls_back(proc):
    calls = []
    watch = ctl.ControllerWatch((200, 7000), lambda: calls.append("gone"), proc=str(proc), poll=0.01).start()
    watch.stop()
    time.sleep(0.03)
    (proc / "200" / "stat").unlink()
    time.sleep(0.05)
    assert calls == [] and not watch.gone.is_set()


def test_without_an_identity_nothing_is_watched():
    before = threading.active_count()
    watch = ctl.ControllerWatch(None, lambda: None).start()
    assert threading.active_count() == before and not watch.gone.is_set()


def test_interrupt_main_thread_delivers_the_signal_there():
    got = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: got.append(threading.current_thread().name))
    try:
        threading.Thread(target=ctl.interrupt_main_thread, args=(signal.SIGUSR1,)).start()
        assert wait_until(lambda: got)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert got == [threading.main_thread().name]
