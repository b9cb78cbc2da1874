# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/config/plan.py at the edges of what a ConfigMap holds: a plan
never yields a config larger than one can hold, and copes with the aliases one may hold.

(test_config_plan.py holds the rest of plan_config's tests.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ansible_collections.homelab.litellm.plugins.module_utils.config import plan as config_plan
from ansible_collections.homelab.litellm.plugins.module_utils.config.document import MAX_CONFIG_BYTES, ConfigError

STORY = (Path(__file__).parent.parent / "fixtures" / "story-config.yaml").read_text()
TOO_BIG = re.compile(
    r"^config\.yaml after the merge would be (\d+) bytes \(\d+\.\d KiB\), more than Kubernetes lets a ConfigMap "
    r"hold \(1048576 bytes, 1 MiB\), so the API server would refuse the write; request fewer models or shorten "
    r"the rest of the config$"
)


def story_padded_to(size):
    """The story's config with a comment at the end that makes it ``size`` bytes."""
    return STORY + "#" * (size - len(STORY.encode("utf-8")) - 1) + "\n"


def groq_models(count):
    return [
        {
            "model_name": "groq/m%d" % i,
            "litellm_params": {"model": "groq/m%d" % i, "api_key": "os.environ/GROQ_API_KEY"},
        }
        for i in range(count)
    ]


@pytest.mark.parametrize(
    "router_settings",
    [None, {"num_retries": 3}],
    ids=["entries spliced in", "round trip"],
)
def test_a_plan_whose_result_no_configmap_can_hold_is_refused(router_settings):
    current = story_padded_to(MAX_CONFIG_BYTES - 200)
    with pytest.raises(ConfigError) as caught:
        config_plan.plan_config(current, groq_models(5), router_settings=router_settings)
    [error] = caught.value.errors
    assert int(TOO_BIG.match(error).group(1)) > MAX_CONFIG_BYTES, error


def test_a_config_at_the_limit_is_planned_and_one_that_grows_to_it_too():
    current = story_padded_to(MAX_CONFIG_BYTES)
    plan = config_plan.plan_config(current, [])
    assert not plan.changed and plan.after == current
    grown = config_plan.plan_config(story_padded_to(MAX_CONFIG_BYTES - 200), groq_models(1))
    assert grown.changed and MAX_CONFIG_BYTES - 200 < len(grown.after.encode("utf-8")) <= MAX_CONFIG_BYTES


def test_an_entry_is_added_after_one_that_ends_in_an_alias():
    """PyYAML's node for ``*shared`` is the anchored one, with its marks: the splice would land after
    the anchor, the read-back of that text fails to parse, and the round trip takes over."""
    current = (
        "x-shared: &shared [a, b]\n"
        "model_list:\n"
        "  - model_name: mine\n"
        "    litellm_params:\n"
        "      model: groq/mine\n"
        "      tags: *shared\n"
    )
    plan = config_plan.plan_config(current, groq_models(1))
    assert plan.added == ["groq/m0"]
    assert plan.after.startswith(current)
    assert [entry["model_name"] for entry in plan.document["model_list"]] == ["mine", "groq/m0"]
