# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters the litellm role decides with: presets to model entries, rate-limit settings, unknown role
variables. The logic is in module_utils (tested there); here it only gets Ansible's error type."""

from __future__ import annotations

import functools

from ansible.errors import AnsibleFilterError
from ansible_collections.homelab.litellm.plugins.module_utils import _role_vars as role_vars
from ansible_collections.homelab.litellm.plugins.module_utils.config import presets, rate_limits


def _filter_errors(function, error):
    """``function`` with its ``error`` raised as AnsibleFilterError (the message names the variable and the fix)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except error as err:
            raise AnsibleFilterError(str(err))

    return wrapper


def unknown_role_variables(names, argument_specs, also_known=()):
    """Messages for the ``litellm_*`` names the role's parsed argument specs (and ``also_known``) do not declare."""
    known = role_vars.spec_option_names(argument_specs) + list(also_known or ())
    return role_vars.unknown_variable_messages(names, known)


class FilterModule:
    """homelab.litellm filters."""

    def filters(self):
        return {
            "preset_models": _filter_errors(presets.preset_models, presets.PresetError),
            "rate_limit_router_settings": _filter_errors(
                rate_limits.rate_limit_router_settings, rate_limits.RateLimitSettingsError
            ),
            "rate_limit_warnings": _filter_errors(rate_limits.rate_limit_warnings, rate_limits.RateLimitSettingsError),
            "redis_router_settings": _filter_errors(rate_limits.redis_settings, rate_limits.RateLimitSettingsError),
            "unknown_role_variables": unknown_role_variables,
        }
