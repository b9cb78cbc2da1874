# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform attribute every homelab.litellm module shares."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  platform:
    support: full
    platforms: all
    details: Runs on the controller (or any host with kube credentials) and talks to the Kubernetes API.
"""
