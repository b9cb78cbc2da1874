# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of homelab.litellm.litellm_kubeconfig: a task given a cluster credential inline (api_key,
password, a kubeconfig dict) is sent only pipelined (plugin_utils/pipelined.py)."""

from __future__ import annotations

from ansible_collections.homelab.litellm.plugins.plugin_utils.pipelined import PipelinedOnly


class ActionModule(PipelinedOnly):
    WHAT = "the cluster credentials"
