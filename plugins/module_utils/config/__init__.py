# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: LiteLLM's config.yaml, as pure logic.

``document`` turns the text into a round-trip document and back, keeping what the operator wrote;
``schema`` is what LiteLLM 1.108.7 accepts and which entries this collection owns; ``checks``
refuses bad model entries before anything is planned; ``plan`` merges the parallel models into the
document; ``fallbacks`` finds every way a parallel model would join a fallback; ``envvars``,
``lifecycle``, ``presets`` and ``rate_limits`` hold the environment variable rule, the models
providers have shut down, the provider presets and the rate-limit settings. No I/O, no Ansible.
"""
