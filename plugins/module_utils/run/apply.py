# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: litellm_apply's options, and the run they ask for.

Pure apart from the re-exports: the options (one meaning each, shared with the role's argument
specs) and ``settings_of``, which turns the module's parameters into a ``transaction.Settings`` and
the set of values to keep out of every message.
"""

from __future__ import annotations

from .. import _owners as owners
from .. import _plan as pl
from .. import _pod_sources as pod_sources
from .. import _provider_check as provider_check
from .. import _verify as verify_rules
from ..config import checks as config_checks
from ..config import render as config_render
from . import gitops
from . import verify as vf
from .controller import find_controller
from .transaction import Settings, Transaction

__all__ = ["GITOPS_OPTIONS", "OPTIONS", "Settings", "Transaction", "find_controller", "settings_of"]
"""What litellm_apply and litellm_plan take from here: their options and the run, in one import."""

OPTIONS = dict(
    models=dict(type="list", elements="dict", default=[]),
    purge=dict(type="bool", default=False),
    remove=dict(type="list", elements="str", default=[]),
    router_settings=dict(type="dict"),
    strict=dict(type="bool", default=False),
    manage_config=dict(type="bool", default=True),
    api_keys=dict(type="dict", default={}, no_log=True),
    extra_keys=dict(type="list", elements="str", default=[], no_log=False),
    remove_keys=dict(type="list", elements="str", default=[], no_log=False),
    force=dict(type="bool", default=False),
    smoke_scope=dict(type="str", choices=list(pl.SMOKE_SCOPES), default="changed"),
    smoke_models=dict(type="list", elements="str", default=[]),
    smoke=dict(type="bool", default=True),
    provider_check=dict(type="str", choices=list(provider_check.MODES), default="auto"),
    provider_timeout=dict(type="float", default=5.0),
    access_check=dict(type="bool", default=True),
    foreign_owner=dict(type="str", choices=list(owners.POLICIES), default="warn"),
    pod_template_drift=dict(type="str", choices=list(pod_sources.DRIFT_POLICIES), default="warn"),
    rollback=dict(type="bool", default=True),
    rollout_timeout=dict(type="int", default=300),
    verify=dict(type="bool", default=True),
    verify_url=dict(type="str"),
    verify_master_key=dict(type="str", no_log=True),
    max_latency=dict(type="float", default=5.0),
    max_tokens=dict(type="int", default=verify_rules.SMOKE_MAX_TOKENS, no_log=False),
    role_warnings=dict(type="list", elements="str", default=[]),
    role_errors=dict(type="list", elements="str", default=[]),
)
"""litellm_apply's own options (the target, run lock and auth options come from ``_args``)."""

GITOPS_OPTIONS = dict(
    mode=dict(type="str", choices=list(gitops.MODES), default="apply"),
    render_path=dict(type="path"),
    render_format=dict(type="str", choices=list(config_render.FORMATS), default="configmap"),
)
"""litellm_apply's modes for installs a GitOps controller owns (``run/gitops.py``); litellm_plan has none."""


def settings_of(params, check_mode=False, diff=False):
    """``(Settings, secrets)``: the run the parameters ask for, and every value to keep out of messages."""
    if params.get("mode") == "render" and not params.get("render_path"):
        raise pl.PlanError(
            [
                "litellm_render_path (render_path) is empty: with litellm_apply_mode: render, name the directory on "
                "the controller the files go to, e.g. your GitOps application's directory in a Git checkout"
            ]
        )
    request = pl.Request(
        models=params["models"],
        purge=params["purge"],
        remove=params["remove"],
        router_settings=params["router_settings"],
        strict=params["strict"],
        manage_config=params["manage_config"],
        api_keys=params["api_keys"] or {},
        extra_keys=params["extra_keys"],
        remove_keys=params["remove_keys"],
        force=params["force"],
        smoke_scope=params["smoke_scope"],
        smoke_models=params["smoke_models"],
        container=params["container"],
        configmap=params["configmap"],
        config_key=params["config_key"],
        secret=params["secret"],
    )
    secrets = {str(value) for value in request.api_keys.values() if value}
    # A key pasted into a model entry is masked wherever it might show up, also when refused.
    secrets |= {value for value in config_checks.literal_credentials(request.models) if len(value) >= 4}
    if params["verify_master_key"]:
        secrets.add(params["verify_master_key"])
    settings = Settings(
        namespace=params["namespace"],
        deployment=params["deployment"],
        request=request,
        provider_check=params["provider_check"],
        provider_timeout=params["provider_timeout"],
        access_check=params["access_check"],
        foreign_owner=params["foreign_owner"],
        pod_template_drift=params["pod_template_drift"],
        lock_timeout=params["lock_timeout"],
        lock_duration=params["lock_duration"],
        rollback=params["rollback"],
        rollout_timeout=params["rollout_timeout"],
        verify=params["verify"],
        smoke=params["smoke"],
        checks=vf.Checks(max_tokens=params["max_tokens"], max_latency=params["max_latency"]),
        verify_url=params["verify_url"],
        verify_master_key=params["verify_master_key"],
        validate_certs=params.get("validate_certs") is not False,
        ca_cert=params.get("ca_cert"),
        service=params["service"],
        port=params["port"],
        check_mode=check_mode,
        diff=diff,
        mode=params.get("mode") or "apply",
        render_format=params.get("render_format") or "configmap",
    )
    return settings, secrets
