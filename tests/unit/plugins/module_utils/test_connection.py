# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_connection.py and its use in _k8s: a failed connection names the
kubeconfig and context it tried (never masked), the variable to fix, and whether anything was written."""

from __future__ import annotations

import json

import pytest
import urllib3
import yaml
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.homelab.litellm.plugins.module_utils import _connection, _k8s
from ansible_collections.homelab.litellm.tests.unit.fake_kube import FakeCluster

NO_ENV = {"HOME": "/home/alice"}


def kubeconfig_file(tmp_path, contexts=("homelab", "work"), current="homelab", name="config"):
    path = tmp_path / name
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "a-token-that-is-a-secret"}}],
                "contexts": [{"name": name, "context": {"cluster": "c", "user": "u"}} for name in contexts],
                "current-context": current,
            }
        )
    )
    return str(path)


@pytest.mark.parametrize(
    "auth, environ, kubeconfig, kubeconfig_from, context, context_from",
    [
        (
            {"kubeconfig": "/etc/k.yml", "context": "prod"},
            {"K8S_AUTH_KUBECONFIG": "/env/k.yml", "K8S_AUTH_CONTEXT": "env"},
            "/etc/k.yml",
            "litellm_kubeconfig",
            "prod",
            "litellm_context",
        ),
        (
            {},
            {"K8S_AUTH_KUBECONFIG": "/env/k.yml", "K8S_AUTH_CONTEXT": "env", "KUBECONFIG": "/kc"},
            "/env/k.yml",
            "K8S_AUTH_KUBECONFIG",
            "env",
            "K8S_AUTH_CONTEXT",
        ),
        ({}, {"KUBECONFIG": "/a:/b", "HOME": "/h"}, "/a:/b", "KUBECONFIG", None, "litellm_context"),
        ({}, NO_ENV, "/home/alice/.kube/config", "the default", None, "litellm_context"),
    ],
)
def test_target_is_resolved_as_kubernetes_core_resolves_it(
    auth, environ, kubeconfig, kubeconfig_from, context, context_from
):
    target = _connection.target_of(auth, environ)
    assert target["kubeconfig"] == kubeconfig
    assert target["kubeconfig_from"].startswith(kubeconfig_from)
    assert target["context"] == context
    assert target["context_from"].startswith(context_from)


def test_a_kubeconfig_given_as_a_dict_is_named_never_shown():
    target = _connection.target_of({"kubeconfig": {"users": [{"user": {"token": "secret-token"}}]}}, NO_ENV)
    message = _connection.config_error_message(target, "Invalid kube-config file")
    assert "an in-memory kubeconfig" in message
    assert "secret-token" not in message


def test_a_missing_kubeconfig_names_the_path_the_variable_and_that_nothing_was_written(tmp_path):
    missing = str(tmp_path / "nope" / "kubeconfig")
    target = _connection.target_of({"kubeconfig": missing}, NO_ENV)
    message = _connection.config_error_message(
        target, "Could not create API client: Invalid kube-config file. No configuration found."
    )
    assert message.startswith("Could not connect to Kubernetes with kubeconfig %s (from litellm_kubeconfig" % missing)
    assert "No configuration found" in message
    assert "No kubeconfig file is there: set litellm_kubeconfig to the path of your kubeconfig" in message
    assert message.endswith("Nothing was written.")


def test_an_unknown_context_names_the_kubeconfig_and_its_contexts(tmp_path):
    path = kubeconfig_file(tmp_path)
    target = _connection.target_of({"kubeconfig": path, "context": "prdo"}, NO_ENV)
    message = _connection.config_error_message(
        target, "Invalid kube-config file. Expected object with name prdo in %s/contexts list" % path
    )
    assert "kubeconfig %s (from litellm_kubeconfig" % path in message
    assert "context prdo (from litellm_context" in message
    assert "That kubeconfig has no context prdo; its contexts: homelab, work. Set litellm_context" in message
    assert "its current-context homelab" in message
    assert "a-token-that-is-a-secret" not in message
    assert message.endswith("Nothing was written.")


def test_another_config_error_names_both_variables(tmp_path):
    path = tmp_path / "broken"
    path.write_text("- not\n- a kubeconfig\n")
    target = _connection.target_of({"kubeconfig": str(path)}, NO_ENV)
    message = _connection.config_error_message(target, "list indices must be integers or slices, not str")
    assert "kubeconfig %s" % path in message and "its current-context (litellm_context is empty)" in message
    assert "Check litellm_kubeconfig and litellm_context" in message
    assert message.endswith("Nothing was written.")


def test_an_unreachable_server_says_whether_anything_was_written(tmp_path):
    path = kubeconfig_file(tmp_path)
    target = _connection.target_of({"kubeconfig": path}, NO_ENV)
    before = _connection.unreachable_message(target, "https://127.0.0.1:1", "Connection refused")
    assert before.startswith("Could not reach the Kubernetes API server https://127.0.0.1:1 (kubeconfig %s" % path)
    assert "its current-context homelab" in before
    assert before.endswith("Nothing was written.")
    after = _connection.unreachable_message(target, "https://127.0.0.1:1", "Read timed out", writes=2)
    assert "Nothing was written" not in after and "2 write request(s)" in after


# -- in _k8s: what a module says ---------------------------------------------------------------------------


def module_failure(capsys, args, action):
    """Run ``action(module)`` in a real AnsibleModule with the auth options; the JSON it failed with."""
    with patch_module_args(args), pytest.raises(SystemExit):
        action(AnsibleModule(argument_spec=_k8s.k8s_auth_argument_spec()))
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_wrong_context_names_the_kubeconfig_path_unmasked(tmp_path, capsys, monkeypatch):
    """kubernetes.core marks kubeconfig no_log, which masked its path as ******** in every message."""
    monkeypatch.delenv("K8S_AUTH_KUBECONFIG", raising=False)
    path = kubeconfig_file(tmp_path)
    result = module_failure(capsys, {"kubeconfig": path, "context": "prdo"}, _k8s.Kube.from_module)
    assert result["failed"] is True
    assert "********" not in result["msg"]
    assert "kubeconfig %s (from litellm_kubeconfig" % path in result["msg"]
    assert "its contexts: homelab, work" in result["msg"]
    assert result["msg"].endswith("Nothing was written.")


def test_a_kubeconfig_given_as_a_dict_stays_masked(capsys):
    inline = {"users": [{"name": "inline-user", "user": {"token": "an-inline-token-value"}}], "contexts": []}
    result = module_failure(capsys, {"kubeconfig": inline, "context": "prdo"}, _k8s.Kube.from_module)
    assert "an-inline-token-value" not in json.dumps(result)
    assert "an in-memory kubeconfig" in result["msg"]


def test_a_missing_kubeconfig_through_a_module(tmp_path, capsys):
    missing = str(tmp_path / "kubeconfig")
    result = module_failure(capsys, {"kubeconfig": missing}, _k8s.Kube.from_module)
    assert "Could not connect to Kubernetes with kubeconfig %s" % missing in result["msg"]
    assert "set litellm_kubeconfig" in result["msg"] and result["msg"].endswith("Nothing was written.")


class Refused(urllib3.exceptions.NewConnectionError):
    def __init__(self):
        urllib3.exceptions.HTTPError.__init__(self, "Failed to establish a new connection: Connection refused")


def connect_to(monkeypatch, cluster):
    """The module's client talks to ``cluster``; Kube.from_module runs as it is."""
    monkeypatch.setattr(_k8s, "api_client", lambda **_auth: cluster.api_client())


def test_an_unreachable_server_after_a_write_does_not_say_nothing_was_written(tmp_path, capsys, monkeypatch):
    path = kubeconfig_file(tmp_path)
    connect_to(monkeypatch, FakeCluster())

    def refused_at_once(_module, kube):
        kube.get("configmaps", "ml", "litellm-config")
        raise Refused()

    result = module_failure(capsys, {"kubeconfig": path}, lambda module: _k8s.run_with_kube(module, refused_at_once))
    assert result["msg"].startswith("Could not reach the Kubernetes API server")
    assert "kubeconfig %s" % path in result["msg"] and result["msg"].endswith("Nothing was written.")

    def refused_after_a_write(_module, kube):
        kube.create("configmaps", "ml", {"metadata": {"name": "x"}, "data": {}})
        raise Refused()

    result = module_failure(
        capsys, {"kubeconfig": path}, lambda module: _k8s.run_with_kube(module, refused_after_a_write)
    )
    assert "Nothing was written" not in result["msg"] and "1 write request(s)" in result["msg"]


def test_refused_credentials_name_the_kubeconfig(tmp_path, capsys, monkeypatch):
    path = kubeconfig_file(tmp_path)
    connect_to(monkeypatch, FakeCluster())

    def unauthorized(_module, _kube):
        raise _k8s.KubeError(401, "Unauthorized", "Unauthorized")

    result = module_failure(capsys, {"kubeconfig": path}, lambda module: _k8s.run_with_kube(module, unauthorized))
    assert result["msg"].startswith("The Kubernetes API server")
    assert "refused the credentials of kubeconfig %s" % path in result["msg"]
    assert result["msg"].endswith("Nothing was written.")
