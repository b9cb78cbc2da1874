# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the unit tests, which run under ``ansible-test units`` (``make units``).

* ``cluster``: an empty in-memory API server (``fake_kube.FakeCluster``); ``story`` seeds it with the
  story's before state. ``cluster.kube()`` is the real ``_k8s.Kube`` talking to it.
* ``local_server``: ``local_server(routes)`` starts a ``local_http.LocalServer`` on 127.0.0.1.
* ``run_module``: runs a module's ``main()`` the way Ansible does (arguments patched in, the real
  ``exit_json``/``fail_json``, no_log masking included) with ``_k8s.Kube.from_module`` giving a
  ``Kube`` of ``cluster``; returns the JSON the module exited with.
* ``quick_rollouts``: a run's rollout waits look at the Deployment and its pods every 10 ms, without a
  watch (the fake API server's watches never report a change, so a real wait would sleep its whole poll
  interval, and look at the pods only every few seconds).
"""

from __future__ import annotations

import functools
import json

import pytest
from ansible.module_utils import _internal as ansible_internal
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s
from ansible_collections.homelab.litellm.plugins.module_utils.run import rollout as run_rollout
from ansible_collections.homelab.litellm.tests.unit.fake_kube import (
    STORY_CONFIG,
    STORY_SECRETS,
    FakeCluster,
    seed_story,
)
from ansible_collections.homelab.litellm.tests.unit.local_http import LocalServer


class ModuleExit(dict):
    """The result a module exited with; ``rc`` 0 or 1, ``output`` the raw text Ansible reads."""

    def __init__(self, rc, output):
        super().__init__(json.loads(output.strip().splitlines()[-1]))
        self.rc = rc
        self.output = output

    @property
    def failed(self):
        return bool(self.get("failed"))

    @property
    def warning_texts(self):
        """The texts of the Ansible warnings (ansible-core 2.19 sends each as an event with a msg)."""
        return [item["event"]["msg"] if isinstance(item, dict) else item for item in self.get("warnings") or []]


@pytest.fixture
def cluster():
    return FakeCluster()


@pytest.fixture
def story(cluster):
    """The cluster with the story's before state (no provider keys, no record, no lock)."""
    return seed_story(cluster, STORY_CONFIG, STORY_SECRETS)


@pytest.fixture
def run_module(cluster, capsys, monkeypatch):
    """``run_module(module, args, check_mode=False, diff=False)`` -> ModuleExit."""
    monkeypatch.setattr(_k8s.Kube, "from_module", classmethod(lambda cls, module: cluster.kube()))
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})
    # A module's warnings go into its result, unless the process is Ansible's controller (then they go to the
    # display): when a plain pytest run also imports the controller-side tests, that switch is on.
    monkeypatch.setattr(ansible_internal, "is_controller", False)

    def run(module, args, check_mode=False, diff=False):
        capsys.readouterr()
        arguments = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(arguments), pytest.raises(SystemExit) as exited:
            module.main()
        return ModuleExit(exited.value.code, capsys.readouterr().out)

    return run


@pytest.fixture
def quick_rollouts(monkeypatch):
    monkeypatch.setattr(run_rollout, "Wait", functools.partial(run_rollout.Wait, poll_interval=0.01, watch=False))
    monkeypatch.setattr(run_rollout, "POD_CHECK_SECONDS", 0.01)


@pytest.fixture
def local_server():
    servers = []

    def start(routes):
        servers.append(LocalServer(routes))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
