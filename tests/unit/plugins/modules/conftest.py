# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module test: the run lock holder is ``fake_kube.holder_of(token)`` (user alice; the tokens are
``t1``, ``t2``, ... in the order the runs take them), and no provider is ever asked over the network (a
test that wants provider answers patches in its own fetch)."""

from __future__ import annotations

import itertools

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils import _run
from ansible_collections.homelab.litellm.plugins.module_utils.run import preflight

REAL_HTTP_FETCH = preflight.http_fetch


@pytest.fixture(autouse=True)
def fixed_holder(monkeypatch):
    tokens = ("t%d" % number for number in itertools.count(1))
    monkeypatch.setattr(_run, "new_run_token", lambda: next(tokens))
    monkeypatch.setattr(_run.getpass, "getuser", lambda: "alice")


@pytest.fixture
def real_http_fetch():
    """The preflight's own fetch, for a test that points it at a local server."""
    return REAL_HTTP_FETCH


@pytest.fixture(autouse=True)
def no_provider_network(monkeypatch):
    def refuse(url, headers, timeout):
        raise AssertionError("a unit test asked a real provider: " + url)

    monkeypatch.setattr(preflight, "http_fetch", refuse)
