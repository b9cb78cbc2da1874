#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: litellm_verify
short_description: Prove that a LiteLLM proxy is ready and serves the expected models
version_added: 0.1.0
author:
  - homelab.litellm developers (@homelab-litellm)
description:
  - Waits until LiteLLM answers C(/health/readiness) with 200, lists C(/v1/models) with the
    master key and compares it with O(expected_models), then sends one tiny chat request
    (C(Say hello), C(max_tokens) O(max_tokens)) to each of O(smoke_models) and checks that it answers
    within O(max_latency) seconds.
  - Only C(/health/readiness), C(/v1/models) and C(/v1/chat/completions) are ever requested.
    C(/health) is never called, because it sends a request to every configured model and spends
    free-tier quota.
  - Each smoke result gets a class.
    V(ok) answered within O(max_latency).
    V(slow) answered, but later than O(max_latency).
    V(key_rejected) LiteLLM routed the request to the provider and the provider refused the key;
    reported as C(routes, key rejected) with the provider's own message.
    V(not_routed) LiteLLM serves no model of that name.
    V(rate_limited) HTTP 429 from the provider or from LiteLLM's own limits, or a cooldown longer
    than the module waits.
    V(provider_error) any other provider failure (5xx, a retired or unknown model).
    V(unreachable) LiteLLM itself did not answer, the Kubernetes service proxy failed, or LiteLLM
    rejected the master key; the message says which.
  - After a provider failure LiteLLM holds the model in cooldown (5 seconds by default) and
    answers HTTP 429 without asking the provider. The module then waits that long once (up to 15
    seconds) and asks again, so that the result names the real cause.
  - LiteLLM is reached through the Kubernetes API server's service proxy, so nothing but
    Kubernetes credentials is needed; or directly at O(url).
  - The master key is read where LiteLLM gets it (C(general_settings.master_key), else
    C(LITELLM_MASTER_KEY), resolved through the Deployment like every other variable), or from
    O(master_key_secret)/O(master_key_name), and is never returned or shown. Every value of that
    Secret, and anything shaped like a key or a bearer token, is removed from the returned messages.
  - A model that answers 200 with empty content counts as served - a reasoning model (such as
    Groq's C(openai/gpt-oss-120b)) spends a small O(max_tokens) on reasoning.
  - A request answered successfully but later than O(max_latency) is asked once more before the module
    fails (a first request after a restart pays for cold caches); both times are reported.
  - It only reads and takes no lock (O(lock) is ignored).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - homelab.litellm.target
  - homelab.litellm.target.RUN
  - homelab.litellm.target.ACTION_GROUP
  - homelab.litellm.controller
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads, so it runs completely in check mode and never reports a change.
  diff_mode:
    support: none
    details: Read-only; there is nothing to diff.
options:
  url:
    description:
      - Reach LiteLLM at this base URL (for example V(https://litellm.example.com)) instead of
        through the Kubernetes API server's service proxy.
      - O(validate_certs) and O(ca_cert) apply to this URL too.
    type: str
  master_key_secret:
    description:
      - Name of the Secret that holds the master key. By default the one LiteLLM reads it from,
        as the Deployment wires it.
    type: str
  master_key_name:
    description: Key of O(master_key_secret) whose value is the LiteLLM master key.
    type: str
    default: LITELLM_MASTER_KEY
  master_key:
    description:
      - The LiteLLM master key, for keys kept outside the Secret. O(secret) is then not read.
      - With O(url) and O(master_key) the module needs no Kubernetes access at all.
    type: str
  expected_models:
    description: Model names that C(/v1/models) must list. Names LiteLLM serves beyond these are
      reported in RV(extra_models), not an error.
    type: list
    elements: str
    default: []
  smoke_models:
    description: Model names to send one tiny chat request each. Each request goes to the
      provider and counts against its quota.
    type: list
    elements: str
    default: []
  max_tokens:
    description:
      - C(max_tokens) of each smoke request. Small keeps the quota spent small; a reasoning model may
        then answer with empty content, which still counts as served.
    type: int
    default: 16
  max_latency:
    description: Seconds within which each smoke request must be answered.
    type: float
    default: 5.0
  readiness_timeout:
    description: Seconds to wait for C(/health/readiness) to answer 200.
    type: int
    default: 60
  request_timeout:
    description: Seconds to wait for one answer of any request.
    type: int
    default: 30
  fail_on_error:
    description:
      - Fail when LiteLLM is not ready, an expected model is missing or any smoke result is not
        V(ok). With V(false), only report (see RV(passed) and RV(summary)).
    type: bool
    default: true
requirements:
  - kubernetes >= 24.2.0 (not needed with O(url) and O(master_key))
notes:
  - A task that gives this module O(master_key) runs only pipelined (C(ansible_pipelining=true), no
    C(keep_remote_files)); otherwise Ansible would write its arguments into a file under C(~/.ansible/tmp),
    and the module's action plugin refuses it before anything is sent.
  - Through the service proxy the master key travels in LiteLLM's C(x-litellm-api-key) header,
    because the API server consumes the C(Authorization) header for the Kubernetes credentials.
    Directly at O(url) it is sent as C(Authorization) C(Bearer).
  - Latencies through the service proxy include the hop through the API server.
seealso:
  - module: homelab.litellm.litellm_config
  - module: homelab.litellm.litellm_secret
  - module: homelab.litellm.litellm_rollout"""

EXAMPLES = r"""
- name: Prove LiteLLM serves the parallel models and Groq answers within 5 seconds
  homelab.litellm.litellm_verify:
    namespace: ml
    expected_models:
      - vllm-qwen
      - groq/openai/gpt-oss-120b
      - mistral/mistral-small-latest
    smoke_models:
      - groq/openai/gpt-oss-120b
    max_latency: 5

- name: Check through the ingress instead of the API server, report without failing
  homelab.litellm.litellm_verify:
    namespace: ml
    url: https://litellm.home.example.com
    expected_models: "{{ litellm_models | map(attribute='model_name') }}"
    fail_on_error: false
  register: litellm_verify

- name: Show what failed
  ansible.builtin.debug:
    msg: "{{ litellm_verify.summary }}"
  when: not litellm_verify.passed
"""

RETURN = r"""
passed:
  description: Whether every check passed (ready, no missing model, every smoke result V(ok)).
    With O(fail_on_error=false) this is the verdict; Ansible's own C(failed) is then false.
  returned: always
  type: bool
  sample: true
summary:
  description: One line naming each failing check and each failing model with its class, or a
    short success note.
  returned: always
  type: str
  sample: "groq/openai/gpt-oss-120b: key_rejected (routes, key rejected: Groq says \"Invalid API Key\")"
via:
  description: How LiteLLM was reached, V(service_proxy) or V(url).
  returned: always
  type: str
  sample: service_proxy
ready:
  description: Whether C(/health/readiness) answered 200 within O(readiness_timeout).
  returned: always
  type: bool
  sample: true
readiness_seconds:
  description: Seconds until C(/health/readiness) answered 200, or waited in vain.
  returned: always
  type: float
  sample: 0.012
models:
  description: Model names C(/v1/models) lists, in LiteLLM's order (empty when it could not be read).
  returned: always
  type: list
  elements: str
  sample: [vllm-qwen, ollama-qwen, openai-gpt4o, groq/openai/gpt-oss-120b]
missing_models:
  description: Names of O(expected_models) that C(/v1/models) does not list (all of them when the
    list could not be read).
  returned: always
  type: list
  elements: str
  sample: []
extra_models:
  description: Names C(/v1/models) lists that are not in O(expected_models).
  returned: always
  type: list
  elements: str
  sample: [ollama-qwen]
models_error:
  description: Why C(/v1/models) could not be read, or null.
  returned: always
  type: str
  sample: null
smoke:
  description: One result per O(smoke_models) entry.
  returned: always
  type: list
  elements: dict
  contains:
    model:
      description: The model name asked.
      type: str
      sample: groq/openai/gpt-oss-120b
    status:
      description: The class of the result.
      type: str
      choices: [ok, slow, key_rejected, not_routed, rate_limited, provider_error, unreachable]
      sample: ok
    http_status:
      description: HTTP status of the answer, null when nothing answered.
      type: int
      sample: 200
    latency:
      description: Seconds from sending the request to the whole answer.
      type: float
      sample: 0.412
    message:
      description: What happened, trimmed, with keys and bearer tokens removed.
      type: str
      sample: answered in 0.41s
    answer:
      description: The first 200 characters of the model's reply.
      type: str
      sample: Hello! How can I help you today?
    served_by:
      description: The model LiteLLM names in the answer; differs from C(model) when a fallback
        answered instead.
      type: str
      sample: groq/openai/gpt-oss-120b
    first_latency:
      description: Seconds of a first successful answer that came later than O(max_latency); the model
        was asked again and this entry is the second answer.
      type: float
      returned: when the first answer was late
      sample: 6.3
seconds:
  description: Seconds the whole verification took.
  returned: always
  type: float
  sample: 0.42
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.litellm.plugins.module_utils import _k8s, _run
from ansible_collections.homelab.litellm.plugins.module_utils import _plan as pl
from ansible_collections.homelab.litellm.plugins.module_utils import _verify as v
from ansible_collections.homelab.litellm.plugins.module_utils import _wiring as wiring
from ansible_collections.homelab.litellm.plugins.module_utils._args import argument_spec as shared_spec
from ansible_collections.homelab.litellm.plugins.module_utils.run import observe as obs
from ansible_collections.homelab.litellm.plugins.module_utils.run import verify as vf


def argument_spec():
    return shared_spec(
        url=dict(type="str"),
        master_key_secret=dict(type="str", no_log=False),
        master_key_name=dict(type="str", default="LITELLM_MASTER_KEY", no_log=False),
        master_key=dict(type="str", no_log=True),
        expected_models=dict(type="list", elements="str", default=[]),
        smoke_models=dict(type="list", elements="str", default=[]),
        max_tokens=dict(type="int", default=v.SMOKE_MAX_TOKENS, no_log=False),
        max_latency=dict(type="float", default=5.0),
        readiness_timeout=dict(type="int", default=60),
        request_timeout=dict(type="int", default=30),
        fail_on_error=dict(type="bool", default=True),
    )


def master_key_location(kube, params):
    """(secret, key) of the master key: the options given, else where the Deployment wires it."""
    if params["master_key_secret"]:
        return params["master_key_secret"], params["master_key_name"]
    namespace = params["namespace"]
    deployment = kube.get("deployments", namespace, params["deployment"])
    if deployment is None:
        raise _run.RunFailure(
            "Deployment %s/%s not found, so where LiteLLM's master key comes from cannot be read; "
            "give master_key_secret and master_key_name, or master_key" % (namespace, params["deployment"])
        )
    container = wiring.litellm_container(deployment, params["container"])
    configmap, key = _run.config_target(kube, params)
    text = ((kube.get("configmaps", namespace, configmap) or {}).get("data") or {}).get(key) or ""
    variable = wiring.master_key_var(yaml_load(text))
    if variable is None:
        raise _run.RunFailure(
            "config.yaml holds the master key literally (general_settings.master_key); give it as "
            "master_key (from the vault) to verify, and better move it into a Secret"
        )
    objects = {
        ref: kube.get("secrets" if ref[0] == wiring.SECRET else "configmaps", namespace, ref[1])
        for ref in pl.objects_to_read(container)
    }
    _values, env = pl.pod_env(container, objects, [variable])
    source = env.get(variable)
    if source is None or source.kind != wiring.SECRET:
        raise _run.RunFailure(
            "LiteLLM takes its master key from %s, which container %s does not get from a Secret; "
            "give master_key_secret and master_key_name, or master_key" % (variable, container.get("name"))
        )
    return source.name, source.key


def yaml_load(text):
    from ansible_collections.homelab.litellm.plugins.module_utils.config.plan import read_config

    doc, _errors = read_config(text)
    return doc or {}


def read_master_key(module, kube):
    """The master key and every value (plain and base64) to scrub from messages."""
    params = module.params
    if params["master_key"]:
        return params["master_key"], {params["master_key"]}
    name, key = master_key_location(kube, params)
    try:
        return vf.master_key_from(kube.get("secrets", params["namespace"], name), params["namespace"], name, key)
    except vf.VerifyError as err:
        raise _run.RunFailure(str(err))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    kube = None
    if not (params["url"] and params["master_key"]):
        _k8s.check_libraries(module)
        kube = _k8s.Kube.from_module(module)
    try:
        master_key, secrets = read_master_key(module, kube)
    except _k8s.CONNECTION_ERRORS as err:
        _k8s.fail_connection(module, kube, err)
    except _k8s.KubeError as err:
        if err.status == 401:
            _k8s.fail_connection(module, kube, err)
        module.fail_json(
            msg="Kubernetes API error %s %s while reading the master key: %s" % (err.status, err.reason, err.message),
            exception=traceback.format_exc(),
        )
    except _run.EXPECTED as err:
        module.fail_json(msg=str(err))
    # Ansible then masks these values wherever they might still show up in the output (short
    # values are left out: masking them would garble ordinary words).
    module.no_log_values.update(value for value in secrets if len(value) >= 8)
    if params["url"]:
        validate_certs = params.get("validate_certs") is not False
        send, via = vf.url_sender(params["url"], validate_certs, params.get("ca_cert")), v.VIA_URL
    else:
        service, port = params["service"], params["port"]
        if not (service and port):
            deployment = kube.get("deployments", params["namespace"], params["deployment"]) or {
                "metadata": {"name": params["deployment"]}
            }
            container = wiring.litellm_container(deployment, params["container"]) if deployment.get("spec") else {}
            service, port = obs.find_service(kube, params["namespace"], deployment, container, service, port)
        send = vf.service_proxy_sender(kube, params["namespace"], service, port)
        via = v.VIA_SERVICE_PROXY
    checks = vf.Checks(
        expected_models=params["expected_models"],
        smoke_models=params["smoke_models"],
        max_tokens=params["max_tokens"],
        max_latency=params["max_latency"],
        readiness_timeout=params["readiness_timeout"],
        request_timeout=params["request_timeout"],
    )
    result = vf.verify(checks, send, master_key, via, secrets)
    if not result["passed"] and params["fail_on_error"]:
        module.fail_json(msg="LiteLLM verification failed: " + result["summary"], **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
