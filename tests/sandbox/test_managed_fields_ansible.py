"""kubernetes.core 6.x's own server-side apply steps (tests/integration/targets/k8s_apply,
"Server Side Apply", at tag 6.2.0) run with the real k8s module against the sandbox API server."""

from __future__ import annotations

import uuid

import yaml

from tests.sandbox.test_apiserver_ansible import play

CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "{{ name }}", "namespace": "ml"},
    "data": {"key": "value-0"},
}

STEPS = """
- name: no_manager
  kubernetes.core.k8s: {definition: "{{ cm }}", apply: true, server_side_apply: {force_conflicts: false}}
  ignore_errors: true
- name: create
  kubernetes.core.k8s: {definition: "{{ cm }}", apply: true, server_side_apply: {field_manager: manager-00}}
- name: same
  kubernetes.core.k8s: {definition: "{{ cm }}", apply: true, server_side_apply: {field_manager: manager-00}}
- name: new_manager
  kubernetes.core.k8s: {definition: "{{ cm }}", apply: true, server_side_apply: {field_manager: manager-01}}
- name: conflict
  kubernetes.core.k8s:
    definition: "{{ cm | combine({'data': {'key': 'value-1'}}) }}"
    apply: true
    server_side_apply: {field_manager: manager-02}
  ignore_errors: true
- name: forced
  kubernetes.core.k8s:
    definition: "{{ cm | combine({'data': {'key': 'value-1'}}) }}"
    apply: true
    server_side_apply: {field_manager: manager-02, force_conflicts: true}
"""


def test_kubernetes_core_server_side_apply_target(apiserver, tmp_path):
    name = f"server-side-cm-{uuid.uuid4().hex[:6]}"
    results = play(apiserver, tmp_path, yaml.safe_load(STEPS), {"name": name, "cm": CONFIGMAP})
    assert results["no_manager"]["failed"] and "field_manager" in results["no_manager"]["msg"]

    create = results["create"]
    assert create["changed"]
    assert [e["manager"] for e in create["result"]["metadata"]["managedFields"]] == ["manager-00"]
    assert not results["same"]["changed"]

    new_manager = results["new_manager"]
    assert new_manager["changed"] and len(new_manager["result"]["metadata"]["managedFields"]) == 2

    conflict = results["conflict"]
    assert conflict["failed"] and conflict["reason"] == "Conflict"
    # The Status message, as the module passes it on: both appliers of value-0 and the field.
    assert "Apply failed with 2 conflicts" in conflict["msg"] and "- .data.key" in conflict["msg"]
    assert "manager-00" in conflict["msg"] and "manager-01" in conflict["msg"]

    forced = results["forced"]
    assert forced["changed"]
    assert [e["manager"] for e in forced["result"]["metadata"]["managedFields"]] == ["manager-02"]
    assert forced["result"]["data"]["key"] == "value-1"
