# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the litellm role uses to turn provider presets into LiteLLM model entries and rate-limit settings."""

from __future__ import annotations

import functools

from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.litellm.plugins.module_utils import _presets, _rate_limits, _secret_plan


def preset_models(presets, providers, api_base=None, limits=None, extra_models=()):
    try:
        return _presets.preset_models(presets, providers, api_base=api_base, limits=limits,
                                      extra_models=extra_models or ())
    except _presets.PresetError as err:
        raise AnsibleFilterError(str(err))


RATE_LIMIT_ERROR = _rate_limits.RateLimitSettingsError


def _filter_errors(function, error):
    """``function`` with its ``error`` raised as AnsibleFilterError (the message names the variable and the fix)."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except error as err:
            raise AnsibleFilterError(str(err))
    return wrapper


class FilterModule:
    """homelab.litellm filters."""

    def filters(self):
        return {
            "preset_models": preset_models,
            "model_env_vars": _presets.model_env_vars,
            "duplicate_model_names": _presets.duplicate_names,
            "models_using": _presets.models_using,
            # Messages name the key and the fix, never the value.
            "api_key_errors": _secret_plan.validate_secret_data,
            "rate_limited_models": _filter_errors(_rate_limits.rate_limited_models, RATE_LIMIT_ERROR),
            "rate_limit_router_settings": _filter_errors(_rate_limits.rate_limit_router_settings, RATE_LIMIT_ERROR),
            "rate_limit_warnings": _filter_errors(_rate_limits.rate_limit_warnings, RATE_LIMIT_ERROR),
            "shared_counter_warnings": _rate_limits.shared_counter_warnings,
        }
