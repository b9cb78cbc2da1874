# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: one run of the collection, as one transaction.

``observe`` reads the cluster once, ``preflight`` asks the providers and the API server before any
write, ``rollout`` restarts LiteLLM and follows the rollout, ``verify`` proves that it serves,
``controller`` notices when the ansible-playbook that started the run is gone, and ``transaction``
puts them together: every write is journalled as it happens and undone from that journal when
anything fails or the run is stopped.
"""
