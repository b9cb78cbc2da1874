# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module test: the run lock holder is ``fake_kube.holder_of(run_id)`` (user alice, pid 4242), and no
provider is ever asked over the network (a test that wants provider answers patches in its own fetch)."""

from __future__ import annotations

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _run
from ansible_collections.homelab.litellm.plugins.modules import litellm_plan


@pytest.fixture(autouse=True)
def fixed_holder(monkeypatch):
    monkeypatch.setattr(_run, "playbook_pid", lambda: 4242)
    monkeypatch.setattr(_run.getpass, "getuser", lambda: "alice")


REAL_HTTP_FETCH = litellm_plan.http_fetch


@pytest.fixture
def real_http_fetch():
    """litellm_plan's own fetch, for a test that points it at a local server."""
    return REAL_HTTP_FETCH


@pytest.fixture(autouse=True)
def no_provider_network(monkeypatch):
    def refuse(url, headers, timeout):
        raise AssertionError("a unit test asked a real provider: " + url)

    monkeypatch.setattr(litellm_plan, "http_fetch", refuse)
