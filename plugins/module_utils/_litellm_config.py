# -*- coding: utf-8 -*-
# Internal to homelab.litellm, not a public API: it may change in any release without notice.
#
# Copyright: (c) 2026, homelab.litellm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic that merges parallel models into a LiteLLM proxy ``config.yaml``.

Nothing here does I/O or imports Ansible: a module reads the ConfigMap, calls ``plan_config`` and
writes ``plan.after`` back only when ``plan.changed``.

The merge keeps everything the operator wrote (comments, key order, quoting, flow style such as the
``fallbacks`` line) and touches only the ``model_list`` entries this collection owns. Owned entries
carry ``model_info: {id: homelab-litellm-<sha256 of model_name, 12 hex>, managed_by: homelab.litellm}``;
LiteLLM 1.108.7 accepts both (``ModelInfo`` has ``extra="allow"`` and ``Router.set_model_list`` keeps a
declared ``model_info.id`` instead of generating one, litellm/router.py).

A parallel model must never take part in a fallback chain. ``find_fallback_leaks`` knows every way
LiteLLM 1.108.7 could pull one in; ``plan_config`` refuses any result that has one.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._model_lifecycle import MODEL_LIFECYCLE

try:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import CommentMark, YAMLError
    from ruamel.yaml.scalarbool import ScalarBoolean
    from ruamel.yaml.tokens import CommentToken
except ImportError:
    HAS_RUAMEL = False
    RUAMEL_IMPORT_ERROR = traceback.format_exc()
    YAML = CommentedMap = CommentedSeq = CommentMark = CommentToken = ScalarBoolean = None
    YAMLError = Exception
else:
    HAS_RUAMEL = True
    RUAMEL_IMPORT_ERROR = None


MANAGED_BY = "homelab.litellm"
"""Value of ``model_info.managed_by`` on the entries this collection owns."""

MODEL_ID_PREFIX = "homelab-litellm-"
"""Prefix of the stable ``model_info.id`` written on owned entries (see ``model_id_for``)."""

ENTRY_KEYS = ("model_name", "litellm_params", "model_info")
"""The keys of a LiteLLM ``model_list`` entry."""

ENV_REFERENCE_PREFIX = "os.environ/"
"""LiteLLM replaces a value ``os.environ/NAME`` by the environment variable NAME."""

ENV_VAR_NAME = re.compile(r"[A-Z_][A-Z0-9_]*\Z")

SETTINGS_SECTIONS = ("router_settings", "litellm_settings")
"""Both sections configure the router's fallbacks: router_settings keys are Router() arguments,
litellm_settings keys become ``litellm.<key>``, which Router() reads when its argument is unset."""

CHAIN_SETTINGS = ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks")
"""Settings holding a list of single-key mappings ``{model_group: [fallback, ...]}``."""

# Parameter names read from LiteLLM 1.108.7's own types (regenerate when LiteLLM is upgraded):
#   _DEPLOYMENT_PARAMS       litellm/types/router.py: LiteLLM_Params.model_fields (which inherits
#                            GenericLiteLLMParams and CredentialLiteLLMParams) | LiteLLMParamsTypedDict,
#                            without the pricing fields below
#   _PRICING_PARAMS          litellm/types/utils.py: CustomPricingLiteLLMParams.model_fields
#   _REQUEST_DEFAULT_PARAMS  request fields a deployment may preset: litellm/constants.py
#                            OPENAI_CHAT_COMPLETION_PARAMS | DEFAULT_CHAT_COMPLETION_PARAM_VALUES (minus
#                            "messages"), litellm/types/utils.py StandardCallbackDynamicParams, and the
#                            keys the router reads from a deployment's litellm_params (router.py:
#                            base_model, client_side_timeout, max_agentic_loops, prompt_id,
#                            search_provider; ssl_verify, supports_system_message from all_litellm_params)
# The fallback keys of all_litellm_params are left out on purpose (see DEPLOYMENT_FALLBACK_PARAMS).
_DEPLOYMENT_PARAMS = frozenset("""
adaptive_router_config adaptive_router_default_model allow_client_keepalive_override
anthropic_disable_workload_identity_federation anthropic_federation_rule_id
anthropic_federation_workspace_id anthropic_identity_source anthropic_identity_token
anthropic_identity_token_file anthropic_issuer_audience anthropic_issuer_signing_key_ref
anthropic_issuer_subject anthropic_issuer_ttl_seconds anthropic_issuer_url
anthropic_keycloak_auth_method anthropic_keycloak_client_id anthropic_keycloak_client_secret_ref
anthropic_keycloak_scope anthropic_keycloak_token_url anthropic_organization_id
anthropic_service_account_id api_base api_key api_version auto_router_config
auto_router_config_path auto_router_default_model auto_router_embedding_model
auto_router_max_input_chars auto_router_model_compression auto_router_routing_compression
aws_access_key_id aws_batch_role_arn aws_bedrock_project_id aws_bedrock_runtime_endpoint
aws_external_id aws_profile_name aws_region_name aws_role_name aws_secret_access_key
aws_session_name aws_session_tags aws_session_token aws_sts_endpoint aws_web_identity_token
azure_ad_token azure_password azure_scope azure_username bedrock_tags bucket_name
budget_duration client_id client_secret complexity_router_config complexity_router_default_model
configurable_clientside_auth_params cooldown_time custom_llm_provider default_api_key_rpm_limit
default_api_key_tpm_limit drop_params embedding_model fireworks_forward_user_id gcs_bucket_name
index_name itpm keepalive_seconds litellm_credential_name litellm_trace_id max_budget
max_file_size_mb max_parallel_requests max_retries merge_reasoning_content_in_choices
milvus_db_name milvus_partition_names milvus_text_field mock_response model model_info
num_retries openai_identity_provider_id openai_identity_token_file openai_service_account_id
order organization otpm provider_affinity_header quality_router_config
quality_router_default_model region_name rpm s3_access_key_id s3_bucket_name s3_bucket_owner
s3_encryption_key_id s3_endpoint_url s3_output_bucket_name s3_region_name s3_secret_access_key
stream_timeout stream_timeout_by_service_tier tag_regex tags tenant_id timeout
timeout_by_service_tier token_exchange_audience token_exchange_endpoint token_exchange_profile
token_exchange_scope tpm use_chat_completions_api use_in_pass_through use_litellm_proxy
use_xai_oauth valkey_embedding_field valkey_host valkey_password valkey_port valkey_ssl
valkey_text_field vector_bucket_name vector_store_id vertex_credentials vertex_location
vertex_project watsonx_region_name weight
""".split())
_REQUEST_DEFAULT_PARAMS = frozenset("""
additional_drop_params allowed_openai_params arize_api_key arize_error_sampling_rate
arize_otlp_protocol arize_space_id arize_space_key arize_success_sampling_rate audio base_model
base_url client_side_timeout context_management dd_agent_host dd_agent_port dd_api_key dd_site
default_headers deployment_id extra_headers frequency_penalty function_call functions
gcs_path_service_account humanloop_api_key include_server_side_tool_invocations
langfuse_environment langfuse_host langfuse_prompt_version langfuse_public_key langfuse_secret
langfuse_secret_key langfuse_span_scope langsmith_api_key langsmith_base_url langsmith_project
langsmith_sampling_rate langsmith_tenant_id litellm_disabled_callbacks logit_bias logprobs
max_agentic_loops max_completion_tokens max_tokens metadata modalities n newrelic_api_key
newrelic_region parallel_tool_calls posthog_api_key posthog_api_url prediction presence_penalty
prompt_cache_key prompt_cache_retention prompt_id reasoning_effort request_timeout
response_format safety_identifier search_provider seed service_tier signoz_ingestion_endpoint
signoz_ingestion_key ssl_verify stop store stream stream_options supports_system_message
temperature thinking tool_choice tools top_logprobs top_p turn_off_message_logging user
verbosity wandb_api_key weave_project_id web_search_options
""".split())
_PRICING_PARAMS = frozenset("""
annotation_cost_per_page annotation_cost_per_page_batches cache_creation_input_audio_token_cost
cache_creation_input_token_cost cache_creation_input_token_cost_above_100k_tokens
cache_creation_input_token_cost_above_100k_tokens_batches
cache_creation_input_token_cost_above_1hr
cache_creation_input_token_cost_above_1hr_above_100k_tokens
cache_creation_input_token_cost_above_200k_tokens
cache_creation_input_token_cost_above_200k_tokens_batches
cache_creation_input_token_cost_above_272k_tokens
cache_creation_input_token_cost_above_272k_tokens_batches
cache_creation_input_token_cost_above_272k_tokens_flex
cache_creation_input_token_cost_above_272k_tokens_priority
cache_creation_input_token_cost_above_272k_tokens_ultrafast
cache_creation_input_token_cost_batches cache_creation_input_token_cost_flex
cache_creation_input_token_cost_priority cache_creation_input_token_cost_ultrafast
cache_read_input_audio_token_cost cache_read_input_audio_token_cost_batches
cache_read_input_audio_token_cost_flex cache_read_input_audio_token_cost_priority
cache_read_input_image_token_cost cache_read_input_token_cost
cache_read_input_token_cost_above_100k_tokens
cache_read_input_token_cost_above_100k_tokens_batches
cache_read_input_token_cost_above_200k_tokens
cache_read_input_token_cost_above_200k_tokens_batches
cache_read_input_token_cost_above_200k_tokens_priority
cache_read_input_token_cost_above_272k_tokens
cache_read_input_token_cost_above_272k_tokens_batches
cache_read_input_token_cost_above_272k_tokens_flex
cache_read_input_token_cost_above_272k_tokens_priority
cache_read_input_token_cost_above_272k_tokens_ultrafast
cache_read_input_token_cost_above_512k_tokens cache_read_input_token_cost_balanced
cache_read_input_token_cost_batches cache_read_input_token_cost_flex
cache_read_input_token_cost_priority cache_read_input_token_cost_ultrafast
citation_cost_per_token cost_per_second google_maps_grounding_cost_per_query
input_cost_per_audio_per_second input_cost_per_audio_per_second_above_128k_tokens
input_cost_per_audio_token input_cost_per_audio_token_above_200k_tokens
input_cost_per_audio_token_above_200k_tokens_batches
input_cost_per_audio_token_above_200k_tokens_flex
input_cost_per_audio_token_above_200k_tokens_priority input_cost_per_audio_token_batches
input_cost_per_audio_token_flex input_cost_per_audio_token_priority input_cost_per_character
input_cost_per_character_above_128k_tokens input_cost_per_image
input_cost_per_image_above_128k_tokens input_cost_per_image_token
input_cost_per_image_token_batches input_cost_per_pixel input_cost_per_query
input_cost_per_second input_cost_per_text_message input_cost_per_token
input_cost_per_token_above_100k_tokens input_cost_per_token_above_100k_tokens_batches
input_cost_per_token_above_128k_tokens input_cost_per_token_above_200k_tokens
input_cost_per_token_above_200k_tokens_batches input_cost_per_token_above_200k_tokens_flex
input_cost_per_token_above_200k_tokens_priority input_cost_per_token_above_272k_tokens
input_cost_per_token_above_272k_tokens_batches input_cost_per_token_above_272k_tokens_flex
input_cost_per_token_above_272k_tokens_priority input_cost_per_token_above_272k_tokens_ultrafast
input_cost_per_token_above_512k_tokens input_cost_per_token_balanced
input_cost_per_token_batches input_cost_per_token_cache_hit input_cost_per_token_flex
input_cost_per_token_priority input_cost_per_token_ultrafast input_cost_per_video_per_second
input_cost_per_video_per_second_above_128k_tokens
input_cost_per_video_per_second_above_15s_interval
input_cost_per_video_per_second_above_8s_interval input_cost_per_video_token
input_cost_per_video_token_batches ocr_cost_per_credit ocr_cost_per_page
ocr_cost_per_page_batches output_cost_per_audio_per_second output_cost_per_audio_token
output_cost_per_character output_cost_per_character_above_128k_tokens output_cost_per_image
output_cost_per_image_1024 output_cost_per_image_1536 output_cost_per_image_512
output_cost_per_image_token output_cost_per_image_token_batches
output_cost_per_image_token_priority output_cost_per_pixel output_cost_per_reasoning_token
output_cost_per_reasoning_token_flex output_cost_per_reasoning_token_priority
output_cost_per_second output_cost_per_second_1080p output_cost_per_second_2k
output_cost_per_second_480p output_cost_per_second_4k output_cost_per_second_720p
output_cost_per_second_768p output_cost_per_token output_cost_per_token_above_100k_tokens
output_cost_per_token_above_100k_tokens_batches output_cost_per_token_above_128k_tokens
output_cost_per_token_above_200k_tokens output_cost_per_token_above_200k_tokens_batches
output_cost_per_token_above_200k_tokens_flex output_cost_per_token_above_200k_tokens_priority
output_cost_per_token_above_272k_tokens output_cost_per_token_above_272k_tokens_batches
output_cost_per_token_above_272k_tokens_flex output_cost_per_token_above_272k_tokens_priority
output_cost_per_token_above_272k_tokens_ultrafast output_cost_per_token_above_512k_tokens
output_cost_per_token_balanced output_cost_per_token_batches output_cost_per_token_flex
output_cost_per_token_priority output_cost_per_token_ultrafast output_cost_per_video_per_second
output_cost_per_video_token output_vector_size regional_endpoint_uplift_multiplier
regional_processing_uplift_multiplier_eu regional_processing_uplift_multiplier_us
search_context_cost_per_query tiered_pricing
""".split())

ALLOWED_LITELLM_PARAMS = _DEPLOYMENT_PARAMS | _REQUEST_DEFAULT_PARAMS | _PRICING_PARAMS
"""Every ``litellm_params`` key LiteLLM 1.108.7 knows. Others are forwarded to the provider silently."""

DEPLOYMENT_FALLBACK_PARAMS = frozenset(
    ("fallbacks", "context_window_fallback_dict", "content_policy_fallbacks", "context_window_fallbacks",
     "default_fallbacks", "max_fallbacks", "model_fallbacks")
)
"""``litellm_params`` keys that would give one deployment its own fallbacks (litellm/main.py acompletion
reads ``fallbacks`` from the call kwargs, which include the deployment's litellm_params)."""

CREDENTIAL_PARAMS = frozenset(
    ("api_key", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "azure_ad_token",
     "azure_password", "client_secret", "s3_access_key_id", "s3_secret_access_key", "valkey_password",
     "vertex_credentials", "langfuse_secret", "langfuse_secret_key", "langsmith_api_key")
)
"""``litellm_params`` keys holding secrets: they must be ``os.environ/NAME`` references, never literals."""

ROUTER_SETTINGS_KEYS = frozenset("""
alerting_config allowed_fails allowed_fails_policy background_health_check_model_groups cache_kwargs
cache_responses caching_groups client_ttl content_policy_fallbacks context_window_fallbacks
cooldown_time debug_level default_fallbacks default_litellm_params default_max_parallel_requests
default_priority deployment_affinity_ttl_seconds disable_cooldowns enable_health_check_routing
enable_pre_call_checks enable_tag_filtering enable_weighted_failover fallback_on_unsupported_params
fallbacks guardrail_list health_check_ignore_transient_errors health_check_staleness_threshold
max_fallbacks model_group_affinity_config model_group_alias model_group_retry_policy num_retries
optional_pre_call_checks plugins polling_interval provider_budget_config redis_db redis_host
redis_password redis_port redis_url retry_after retry_policy routing_groups routing_strategy
routing_strategy_args set_verbose stream_timeout tag_filtering_match_any tag_routing_prefix timeout
""".split())
"""``router_settings`` keys LiteLLM 1.108.7 passes to Router(): ``Router.get_valid_args()`` minus
``ROUTER_SETTINGS_MANAGED_OUTSIDE_CONFIG`` (litellm/proxy/proxy_server.py). Other keys are ignored
with a log line only."""

ROUTER_CREDENTIAL_SETTINGS = frozenset(("redis_password",))

# Common slips whose closest spelling difflib would not find.
_KNOWN_MISSPELLINGS = {"rpm_limit": "rpm", "tpm_limit": "tpm", "key": "api_key", "base_url": "api_base"}

# Default environment variable names, used in suggestions and in the "no api_key" warning.
_PROVIDER_KEY_ENV = {
    "anthropic": "ANTHROPIC_API_KEY",
    "cerebras": "CEREBRAS_API_KEY",
    "cohere": "COHERE_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "groq": "GROQ_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "openai": "OPENAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "xai": "XAI_API_KEY",
}

_CRASH = "LiteLLM exits at start-up on it and the pod goes into CrashLoopBackOff"


class ConfigError(Exception):
    """The config or the request cannot be planned; ``errors`` says what and how to fix each part."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))

    @property
    def messages(self):
        """The same list as ``errors``."""
        return self.errors


@dataclass(frozen=True)
class YamlStyle:
    """Indentation of a YAML text, so a rewrite looks like what the operator wrote.

    The defaults are the usual Kubernetes style (and the story's config): mappings indented by 2,
    list dashes indented by 2 under their key with the item content at 4.
    """

    mapping: int = 2
    sequence: int = 4
    offset: int = 2
    explicit_start: bool = False


@dataclass(frozen=True)
class ConfigPlan:
    """What ``plan_config`` would do to config.yaml. Write ``after`` only when ``changed``.

    ``added``/``updated``/``removed``/``unchanged`` are sorted model names (for state=absent,
    ``unchanged`` lists the requested names that were not there); ``env_vars`` the variables the
    resulting config references as ``os.environ/NAME``; ``digest`` the sha256 of ``after``;
    ``model_names`` every model_name of the resulting config, ``managed_models`` those this
    collection owns.
    """

    changed: bool
    before: str
    after: str
    added: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    env_vars: list = field(default_factory=list)
    digest: str = ""
    warnings: list = field(default_factory=list)
    router_settings_changed: bool = False
    model_names: list = field(default_factory=list)
    managed_models: list = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# YAML text <-> round-trip document
# ---------------------------------------------------------------------------------------------

def guess_yaml_style(text):
    """Guess the indentation of ``text`` (first nested mapping, first block list) as a ``YamlStyle``."""
    mapping = sequence = offset = None
    explicit_start = False
    parent_column = None  # column of the key of the previous line when that line ended with "key:"
    seen_content = False
    for raw in text.splitlines():
        stripped = raw.split(" #", 1)[0].strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not seen_content:
            seen_content = True
            if stripped == "---" or stripped.startswith("--- "):
                explicit_start = True
                continue
        indent = len(raw) - len(raw.lstrip(" "))
        key_column = indent
        if stripped.startswith("- "):
            content = stripped[2:].lstrip(" ")
            key_column = indent + len(stripped) - len(content)
            # a block list may start in the column of its key ("key:\n- item")
            if parent_column is not None and indent >= parent_column and sequence is None:
                offset = indent - parent_column
                sequence = key_column - parent_column
        elif parent_column is not None and indent > parent_column and mapping is None:
            mapping = indent - parent_column
        parent_column = key_column if stripped.endswith(":") else None
        if mapping is not None and sequence is not None:
            break
    default = YamlStyle()
    mapping = mapping or default.mapping
    if sequence is None:
        sequence, offset = default.sequence, default.offset
    return YamlStyle(mapping=mapping, sequence=sequence, offset=offset, explicit_start=explicit_start)


def _yaml(style):
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long lines (URLs, the flow-style fallbacks line)
    yaml.indent(mapping=style.mapping, sequence=style.sequence, offset=style.offset)
    yaml.explicit_start = style.explicit_start
    # Keep [{"a": ["b"]}] as written: by default ruamel drops the braces of single-key mappings
    # inside flow sequences, which would rewrite the operator's fallbacks line.
    yaml.brace_single_entry_mapping_in_flow_sequence = True
    return yaml


def parse_config(text):
    """Parse config.yaml into a round-trip ``CommentedMap`` (comments, order and quotes kept).

    Raises ``ConfigError`` for everything that makes LiteLLM exit at start-up: bad YAML, an empty file,
    a top level that is not a mapping, a ``model_list`` that is not a list, an entry that is not a
    mapping or lacks ``model_name``, ``litellm_params`` or ``litellm_params.model``.
    """
    if not isinstance(text, str) or not text.strip():
        raise ConfigError([
            "config.yaml is empty; %s; restore the config (at least a model_list) by hand" % _CRASH
        ])
    try:
        doc = _yaml(YamlStyle()).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        raise ConfigError([
            "config.yaml is not valid YAML%s (%s); %s; fix the YAML by hand" % (where, problem, _CRASH)
        ]) from None
    if doc is None:
        raise ConfigError([
            "config.yaml holds only comments; %s; restore the config (at least a model_list) by hand" % _CRASH
        ])
    if not isinstance(doc, Mapping):
        raise ConfigError([
            "config.yaml must be a mapping at the top level (model_list, router_settings, ...), not a %s; "
            "%s; restore the config by hand" % (_yaml_type(doc), _CRASH)
        ])
    errors = _model_list_errors(doc)
    if errors:
        raise ConfigError(errors)
    return doc


def _yaml_type(value):
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return type(value).__name__


def _model_list_errors(doc):
    model_list = doc.get("model_list")
    if model_list is None:
        return []
    if not isinstance(model_list, list):
        return [
            "model_list is a %s, not a list; %s; write it as a list of entries ('- model_name: ...')"
            % (_yaml_type(model_list), _CRASH)
        ]
    errors = []
    for index, entry in enumerate(model_list):
        where = "model_list[%d]" % index
        if not isinstance(entry, Mapping):
            errors.append("%s is a %s, not a mapping; %s; make it a mapping with model_name and litellm_params "
                          "or remove it" % (where, _yaml_type(entry), _CRASH))
            continue
        name = entry.get("model_name")
        if name is None or name == "":
            errors.append("%s has no model_name; %s; add model_name (the name clients request) or remove the "
                          "entry" % (where, _CRASH))
        elif not isinstance(name, str):
            errors.append("%s: model_name %r is a %s; quote it so it is a string" % (where, name, _yaml_type(name)))
        else:
            where = "%s (model_name %r)" % (where, name)
        params = entry.get("litellm_params")
        if not isinstance(params, Mapping):
            errors.append("%s has no litellm_params mapping; %s; add litellm_params with at least "
                          "'model: <provider>/<model>' or remove the entry" % (where, _CRASH))
        elif not isinstance(params.get("model"), str) or not params.get("model"):
            errors.append("%s has no litellm_params.model; %s; set it to the LiteLLM model string, e.g. "
                          "'groq/llama-3.3-70b-versatile', or remove the entry" % (where, _CRASH))
    return errors


def render_config(doc, style=None):
    """Render a round-trip document back to YAML text in ``style`` (default ``YamlStyle()``)."""
    stream = io.StringIO()
    _yaml(style or YamlStyle()).dump(doc, stream)
    return stream.getvalue()


def config_digest(text):
    """sha256 hex digest of a config text, e.g. for a pod-template annotation that triggers a rollout."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Comments: ruamel keeps the lines that follow a block node (blank lines, the comment above the
# next list item or key) on the deepest last scalar of that node. When items are appended, removed
# or replaced, those lines must move with the position, not with the item.
# ---------------------------------------------------------------------------------------------

def _is_block_collection(node):
    return isinstance(node, (CommentedMap, CommentedSeq)) and len(node) > 0 and not node.fa.flow_style()


def _last_key(node):
    return next(reversed(node)) if isinstance(node, CommentedMap) else len(node) - 1


def _item_slot(container, key):
    """(container, key) of the ``ca.items`` entry holding the lines after ``container[key]``."""
    while _is_block_collection(container[key]):
        container = container[key]
        key = _last_key(container)
    return container, key


def _slot_entry(container, key):
    size, position = (4, 2) if isinstance(container, CommentedMap) else (2, 0)
    entry = container.ca.items.setdefault(key, [None] * size)
    return entry, position


def _take_item_comment(container, key):
    """Remove and return the comment lines after ``container[key]``, leaving its end-of-line comment."""
    entry, position = _slot_entry(*_item_slot(container, key))
    token = entry[position]
    if token is None:
        return ""
    end_of_line, _newline, following = token.value.partition("\n")
    if end_of_line:
        token.value = end_of_line + "\n"
    else:
        entry[position] = None
    return following


def _give_item_comment(container, key, lines):
    """Put comment ``lines`` (as returned by ``_take_item_comment``) after ``container[key]``."""
    if not lines:
        return
    entry, position = _slot_entry(*_item_slot(container, key))
    token = entry[position]
    if token is None:
        entry[position] = CommentToken("\n" + lines, CommentMark(0))
    else:
        token.value = token.value + lines


def _take_trailing_comment(node):
    return _take_item_comment(node, _last_key(node)) if _is_block_collection(node) else ""


def _give_trailing_comment(node, lines):
    if _is_block_collection(node):
        _give_item_comment(node, _last_key(node), lines)


def _comment_tokens(lines):
    tokens = []
    for line in lines.splitlines(True):
        text = line.lstrip(" ")
        tokens.append(CommentToken(text, CommentMark(len(line) - len(text))))
    return tokens


def _put_comment_before_first_item(parent, key, lines):
    """Comments above the first item of ``parent[key]`` live on the parent's key entry."""
    entry, _slot = _slot_entry(parent, key)
    entry[3] = (entry[3] or []) + _comment_tokens(lines)


def _put_comment_after_key(mapping, key, lines):
    """Put ``lines`` after ``mapping[key]`` when its value is empty (then rendered in flow style)."""
    keys = list(mapping)
    position = keys.index(key)
    # ruamel cannot place a comment after an empty last value of the document: there the lines are
    # dropped (only when every entry of a model_list at the end of the file was removed).
    if position + 1 < len(keys):
        entry, _slot = _slot_entry(mapping, keys[position + 1])
        entry[1] = _comment_tokens(lines) + (entry[1] or [])


def _remove_list_item(parent, key, index):
    """Delete ``parent[key][index]`` and keep the comment lines that followed it."""
    items = parent[key]
    lines = _take_item_comment(items, index)
    del items[index]
    if not lines:
        return
    if index > 0:
        _give_item_comment(items, index - 1, lines)
    elif len(items):
        _put_comment_before_first_item(parent, key, lines)
    else:
        _put_comment_after_key(parent, key, lines)


def _remove_mapping_key(mapping, key):
    """Delete ``mapping[key]`` and hand the comment lines that followed it to the previous key."""
    keys = list(mapping)
    lines = _take_item_comment(mapping, key)
    del mapping[key]
    position = keys.index(key)
    if lines and position > 0:
        _give_item_comment(mapping, keys[position - 1], lines)


def _replace_value(mapping, key, value):
    lines = _take_item_comment(mapping, key)
    mapping[key] = _to_node(value)
    _give_item_comment(mapping, key, lines)


def _append_to_mapping(mapping, key, value):
    lines = _take_trailing_comment(mapping)
    mapping[key] = _to_node(value)
    _give_trailing_comment(mapping, lines)


def _to_node(value):
    """Plain data -> ruamel nodes in block style."""
    if isinstance(value, Mapping):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = _to_node(item)
        return node
    if isinstance(value, (list, tuple)):
        return CommentedSeq(_to_node(item) for item in value)
    return value


# ---------------------------------------------------------------------------------------------
# Plain data and comparison
# ---------------------------------------------------------------------------------------------

def _plain(node):
    """ruamel nodes -> plain dict/list/str/int/float/bool, for comparison."""
    if isinstance(node, Mapping):
        return {_plain(key): _plain(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(item) for item in node]
    if isinstance(node, bool):
        return node
    if HAS_RUAMEL and isinstance(node, ScalarBoolean):
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _same(left, right):
    """Semantic equality of plain data; unlike ``==`` it keeps True apart from 1."""
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(_same(left[key], right[key]) for key in left)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (Mapping, list, tuple)) or isinstance(right, (Mapping, list, tuple)):
        return False
    return left == right


def _sync_mapping(target, desired, delete_missing):
    """Make ``target`` (a CommentedMap) equal ``desired`` in place, keeping comments and key order.

    Nested mappings are updated key by key, other values replaced, new keys appended at the end;
    keys missing from ``desired`` are deleted only when ``delete_missing``.
    """
    stale = [key for key in target if key not in desired] if delete_missing else []
    for key in stale:
        _remove_mapping_key(target, key)
    for key, value in desired.items():
        if key not in target:
            _append_to_mapping(target, key, value)
            continue
        current = target[key]
        if isinstance(current, CommentedMap) and isinstance(value, Mapping) and not current.fa.flow_style():
            _sync_mapping(current, value, delete_missing)
        elif not _same(_plain(current), _plain(value)):
            _replace_value(target, key, value)


# ---------------------------------------------------------------------------------------------
# Ownership
# ---------------------------------------------------------------------------------------------

def model_id_for(model_name):
    """Stable ``model_info.id`` of an owned entry: the same name always gives the same id."""
    return MODEL_ID_PREFIX + hashlib.sha256(model_name.encode("utf-8")).hexdigest()[:12]


def is_managed(entry):
    """True when a ``model_list`` entry carries this collection's marker in ``model_info``."""
    model_info = entry.get("model_info") if isinstance(entry, Mapping) else None
    return isinstance(model_info, Mapping) and model_info.get("managed_by") == MANAGED_BY


def _desired_entry(model):
    name = model["model_name"]
    model_info = {"id": model_id_for(name), "managed_by": MANAGED_BY}
    model_info.update(_plain(model.get("model_info") or {}))
    return {"model_name": name, "litellm_params": _plain(model["litellm_params"]), "model_info": model_info}


# ---------------------------------------------------------------------------------------------
# Validation of the requested models
# ---------------------------------------------------------------------------------------------

def _closest(word, candidates):
    if word in _KNOWN_MISSPELLINGS and _KNOWN_MISSPELLINGS[word] in candidates:
        return _KNOWN_MISSPELLINGS[word]
    matches = difflib.get_close_matches(word, sorted(candidates), n=1)
    return matches[0] if matches else None


def _provider_of(model_string):
    return model_string.split("/", 1)[0] if isinstance(model_string, str) and "/" in model_string else ""


def _suggested_env_name(model_string, param):
    if param == "api_key":
        provider = _provider_of(model_string)
        if provider in _PROVIDER_KEY_ENV:
            return _PROVIDER_KEY_ENV[provider]
        return (re.sub(r"[^A-Z0-9]", "_", provider.upper()) or "PROVIDER") + "_API_KEY"
    return param.upper()


def _env_reference_errors(where, value, secret=False):
    """Errors for an ``os.environ/`` reference with an invalid name. For a ``secret`` field the value is
    not shown: a key pasted after the prefix would otherwise end up in the logs."""
    errors = []
    if isinstance(value, str) and value.startswith(ENV_REFERENCE_PREFIX):
        name = value[len(ENV_REFERENCE_PREFIX):]
        if not ENV_VAR_NAME.match(name):
            shown = "an invalid environment variable name (value not shown)" if secret else (
                "%r, which is not a valid environment variable name" % value)
            errors.append(
                "%s references %s; use upper-case letters, digits and underscores, e.g. os.environ/GROQ_API_KEY"
                % (where, shown)
            )
    return errors


def _nested_env_reference_errors(where, value):
    """LiteLLM resolves os.environ/ only in top-level litellm_params values (Router.set_model_list)."""
    errors = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            errors += _nested_env_reference_errors("%s.%s" % (where, key), item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            errors += _nested_env_reference_errors("%s[%d]" % (where, index), item)
    elif isinstance(value, str) and value.startswith(ENV_REFERENCE_PREFIX):
        errors.append(
            "%s is %r, but LiteLLM resolves os.environ/ only in top-level litellm_params values, so it would "
            "send this text literally; move the value to a top-level litellm_params key" % (where, value)
        )
    return errors


def _credential_errors(label, model_string, params):
    errors = []
    for param in sorted(CREDENTIAL_PARAMS & set(params)):
        value = params[param]
        if value is None:
            continue
        if isinstance(value, str) and value.startswith(ENV_REFERENCE_PREFIX):
            continue
        # vertex_credentials may also name a mounted service-account file, which is no secret.
        if param == "vertex_credentials" and isinstance(value, str) and value.startswith("/"):
            continue
        errors.append(
            "%s: litellm_params.%s is written literally (value not shown); put the secret in the vault, let "
            "homelab.litellm store it in the Secret and write %s: os.environ/%s"
            % (label, param, param, _suggested_env_name(model_string, param))
        )
    return errors


def _litellm_params_errors(label, params, extra_params):
    errors = []
    model_string = params.get("model")
    if not isinstance(model_string, str) or not model_string.strip():
        errors.append(
            "%s: litellm_params.model is missing; %s; set it to the LiteLLM model string, e.g. "
            "'groq/llama-3.3-70b-versatile'" % (label, _CRASH)
        )
    known = ALLOWED_LITELLM_PARAMS | extra_params
    for key in params:
        key_text = str(key)
        if key_text in DEPLOYMENT_FALLBACK_PARAMS:
            errors.append(
                "%s: litellm_params.%s would give this parallel model its own fallbacks; remove it "
                "(parallel models never fall back)" % (label, key_text)
            )
        elif key_text not in known:
            suggestion = _closest(key_text, known)
            hint = "did you mean %r?" % suggestion if suggestion else "remove it"
            errors.append(
                "%s: litellm_params.%s is not a LiteLLM 1.108.7 parameter and LiteLLM would forward it to the "
                "provider without a warning; %s (if the provider really takes this field, allow it with "
                "extra_params)" % (label, key_text, hint)
            )
    errors += _credential_errors(label, model_string, params)
    for key, value in params.items():
        errors += _env_reference_errors("%s: litellm_params.%s" % (label, key), value, key in CREDENTIAL_PARAMS)
        if isinstance(value, (Mapping, list, tuple)):
            errors += _nested_env_reference_errors("%s: litellm_params.%s" % (label, key), value)
    return errors


def _model_errors(models, extra_params):
    if not isinstance(models, (list, tuple)):
        return ["models must be a list of model entries (model_name, litellm_params, model_info), not a %s"
                % _yaml_type(models)]
    errors = []
    counts = {}
    for index, model in enumerate(models):
        label = "models[%d]" % index
        if not isinstance(model, Mapping):
            errors.append("%s is a %s; give a mapping with model_name and litellm_params" % (label, _yaml_type(model)))
            continue
        name = model.get("model_name")
        if not isinstance(name, str) or not name.strip():
            errors.append(
                "%s: model_name is missing or not a string; set it to the name clients will request, e.g. "
                "'groq/llama-3.3-70b-versatile'" % label
            )
        else:
            label = "model %r" % name
            counts[name] = counts.get(name, 0) + 1
        for key in model:
            if key not in ENTRY_KEYS:
                suggestion = _closest(str(key), ENTRY_KEYS)
                hint = "did you mean %r?" % suggestion if suggestion else "remove it"
                errors.append("%s: unknown key %r (an entry has model_name, litellm_params and model_info); %s"
                              % (label, key, hint))
        params = model.get("litellm_params")
        if params is None:
            errors.append(
                "%s has no litellm_params; %s; add litellm_params with at least 'model: <provider>/<model>'"
                % (label, _CRASH)
            )
        elif not isinstance(params, Mapping):
            errors.append("%s: litellm_params is a %s; make it a mapping with at least 'model'"
                          % (label, _yaml_type(params)))
        else:
            errors += _litellm_params_errors(label, params, extra_params)
        model_info = model.get("model_info")
        if model_info is not None and not isinstance(model_info, Mapping):
            errors.append("%s: model_info is a %s; make it a mapping or leave it out" % (label, _yaml_type(model_info)))
        elif isinstance(model_info, Mapping):
            for reserved in ("id", "managed_by"):
                if reserved in model_info:
                    errors.append(
                        "%s: model_info.%s is written by homelab.litellm (it marks the entries this collection "
                        "owns); remove model_info.%s from the request" % (label, reserved, reserved)
                    )
    for name, count in counts.items():
        if count > 1:
            errors.append(
                "model_name %r is given %d times; LiteLLM would silently load-balance between the entries; "
                "keep one entry per model_name" % (name, count)
            )
    return errors


def validate_models(models, *, extra_params=()):
    """Check requested ``model_list`` entries; raise ``ConfigError`` listing every problem.

    Each entry needs a string ``model_name`` and ``litellm_params.model``; names must be unique;
    ``litellm_params`` keys must be known to LiteLLM 1.108.7 (``ALLOWED_LITELLM_PARAMS`` plus
    ``extra_params``); secrets (``CREDENTIAL_PARAMS``) must be ``os.environ/NAME`` references with a
    valid NAME; a parallel model must not carry its own fallbacks; ``model_info.id`` and
    ``model_info.managed_by`` are reserved for the ownership marker.
    """
    errors = _model_errors(models, frozenset(extra_params))
    if errors:
        raise ConfigError(errors)


def _router_settings_errors(router_settings):
    if not isinstance(router_settings, Mapping):
        return ["router_settings must be a mapping of Router settings, not a %s" % _yaml_type(router_settings)]
    errors = []
    for key, value in router_settings.items():
        if key not in ROUTER_SETTINGS_KEYS:
            suggestion = _closest(str(key), ROUTER_SETTINGS_KEYS)
            hint = "did you mean %r?" % suggestion if suggestion else "remove it"
            errors.append(
                "router_settings.%s is not a LiteLLM 1.108.7 Router setting and LiteLLM would ignore it; %s"
                % (key, hint)
            )
        if key in ROUTER_CREDENTIAL_SETTINGS and value is not None and not (
            isinstance(value, str) and value.startswith(ENV_REFERENCE_PREFIX)
        ):
            errors.append(
                "router_settings.%s is written literally (value not shown); put it in the vault and write "
                "%s: os.environ/%s" % (key, key, key.upper())
            )
        errors += _env_reference_errors("router_settings.%s" % key, value, key in ROUTER_CREDENTIAL_SETTINGS)
    return errors


# ---------------------------------------------------------------------------------------------
# Fallback leaks
# ---------------------------------------------------------------------------------------------

def _fallback_targets(targets):
    """Model groups named by a fallback list; an item may be a name or a mapping with "model"
    (litellm/router_utils/fallback_event_handlers.py _get_fallback_target_model_group)."""
    if isinstance(targets, str):
        return [targets]
    names = []
    if isinstance(targets, (list, tuple)):
        for target in targets:
            if isinstance(target, str):
                names.append(target)
            elif isinstance(target, Mapping) and isinstance(target.get("model"), str):
                names.append(target["model"])
    return names


def _key_matches(key, name):
    """How LiteLLM would match fallback ``key`` for requests to model group ``name``, or None.

    Mirrors get_fallback_model_group (litellm/router_utils/fallback_event_handlers.py, 1.108.7):
    exact name; the name with its provider prefix stripped (_check_stripped_model_group); a key that is
    the name with a provider prefix added (_provider_prefixed_model_group). LiteLLM strips only known
    provider prefixes and adds only the inferred one; this check treats any prefix as one, so it errs
    on the side of refusing.
    """
    if key == name:
        return "exact"
    if "/" in name and name.split("/", 1)[1] == key:
        return "stripped"
    if "/" not in name and key.endswith("/" + name):
        return "prefixed"
    return None


def _chain_leaks(path, chain, names):
    leaks = []
    everyone = ", ".join(repr(name) for name in names)
    for index, item in enumerate(chain):
        where = "%s[%d]" % (path, index)
        if isinstance(item, str):
            # get_fallback_model_group: a bare string item is a fallback for every model group.
            leaks.append(
                "%s: the bare entry %r is a fallback for every model, so the parallel models %s would fall back "
                "to it on any error; write it as a mapping {\"<chain model>\": [%r]}" % (where, item, everyone, item)
            )
            continue
        if not isinstance(item, Mapping):
            continue
        for key, targets in item.items():
            key = str(key)
            if key == "*":
                leaks.append(
                    "%s: the key '*' makes every model fall back, the parallel models %s too; replace '*' by "
                    "one entry per chain model" % (where, everyone)
                )
            for name in names:
                match = _key_matches(key, name)
                if match == "exact":
                    leaks.append(
                        "%s: parallel model %r is a fallback key, so it would fall back into the chain on any "
                        "error (401 too); remove this entry" % (where, name)
                    )
                elif match == "stripped":
                    leaks.append(
                        "%s: key %r matches parallel model %r once LiteLLM strips the provider prefix, so that "
                        "model would fall back into the chain; rename the chain model or the parallel model so "
                        "the names differ" % (where, key, name)
                    )
                elif match == "prefixed":
                    leaks.append(
                        "%s: key %r matches parallel model %r once LiteLLM adds the provider prefix, so that "
                        "model would fall back into the chain; rename the chain model or the parallel model so "
                        "the names differ" % (where, key, name)
                    )
            for target in _fallback_targets(targets):
                if target in names:
                    leaks.append(
                        "%s: parallel model %r is a fallback target of %r, so the chain would send traffic to it; "
                        "remove it from the targets" % (where, target, key)
                    )
    return leaks


def find_fallback_leaks(doc, parallel_names):
    """Every way a model named in ``parallel_names`` would take part in LiteLLM fallbacks.

    Checks ``fallbacks``, ``context_window_fallbacks``, ``content_policy_fallbacks`` and
    ``default_fallbacks`` in both ``router_settings`` and ``litellm_settings`` (plus the deprecated
    ``litellm_settings.model_fallbacks``), a model_name shared with an entry this collection does not
    own, and fallback keys inside the parallel entries' own ``litellm_params``. Returns one message per
    leak, naming the setting path, the model and the fix; an empty list means none.
    """
    names = list(dict.fromkeys(parallel_names))
    if not names:
        return []
    everyone = ", ".join(repr(name) for name in names)
    leaks = []
    for section in SETTINGS_SECTIONS:
        settings = doc.get(section)
        if not isinstance(settings, Mapping):
            continue
        for setting in CHAIN_SETTINGS:
            chain = settings.get(setting)
            if isinstance(chain, (list, tuple)):
                leaks += _chain_leaks("%s.%s" % (section, setting), chain, names)
        defaults = settings.get("default_fallbacks")
        if isinstance(defaults, (list, tuple)) and defaults:
            # Router.__init__ appends {"*": default_fallbacks} to the fallbacks.
            leaks.append(
                "%s.default_fallbacks: applies to every model, so the parallel models %s would fall back to %s on "
                "any error; replace it by fallbacks entries for the chain models" % (section, everyone, list(defaults))
            )
            for target in _fallback_targets(defaults):
                if target in names:
                    leaks.append("%s.default_fallbacks: parallel model %r is a fallback target; remove it"
                                 % (section, target))
    litellm_settings = doc.get("litellm_settings")
    if isinstance(litellm_settings, Mapping) and litellm_settings.get("model_fallbacks"):
        # litellm.main.completion/acompletion use litellm.model_fallbacks for every call.
        leaks.append(
            "litellm_settings.model_fallbacks: applies to every model, so the parallel models %s would fall back "
            "on any error; replace it by router_settings.fallbacks entries for the chain models" % everyone
        )
    model_list = doc.get("model_list") if isinstance(doc.get("model_list"), list) else []
    for name in names:
        entries = [entry for entry in model_list if isinstance(entry, Mapping) and entry.get("model_name") == name]
        if any(not is_managed(entry) for entry in entries):
            leaks.append(
                "model_list: model_name %r is also used by an entry homelab.litellm does not own; LiteLLM would "
                "load-balance between them and the parallel model would share that entry's fallbacks; give the "
                "parallel model another model_name" % name
            )
        for entry in entries:
            params = entry.get("litellm_params")
            if is_managed(entry) and isinstance(params, Mapping):
                for key in sorted(DEPLOYMENT_FALLBACK_PARAMS & set(params)):
                    leaks.append(
                        "model_list: parallel model %r has litellm_params.%s, its own fallbacks; remove it"
                        % (name, key)
                    )
    return leaks


# ---------------------------------------------------------------------------------------------
# Facts about a config
# ---------------------------------------------------------------------------------------------

def referenced_env_vars(doc):
    """Sorted names of the environment variables referenced as ``os.environ/NAME`` anywhere in ``doc``."""
    found = set()

    def walk(node):
        if isinstance(node, Mapping):
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item)
        elif isinstance(node, str) and node.startswith(ENV_REFERENCE_PREFIX):
            found.add(str(node[len(ENV_REFERENCE_PREFIX):]))

    walk(doc)
    return sorted(found)


def lifecycle_warnings(models, lifecycle=MODEL_LIFECYCLE):
    """Warnings for requested models whose ``litellm_params.model`` is shut down or deprecated."""
    warnings = []
    seen = set()
    for model in models:
        if not isinstance(model, Mapping) or not isinstance(model.get("litellm_params"), Mapping):
            continue
        model_string = model["litellm_params"].get("model")
        fact = lifecycle.get(model_string) if isinstance(model_string, str) else None
        if fact is None or model_string in seen:
            continue
        seen.add(model_string)
        name = model.get("model_name")
        prefix = "model %r: " % name if name != model_string else ""
        date = fact["date"]
        when = ("on " if len(date) == 10 else "in ") + date
        if fact["status"] == "shut_down":
            warnings.append("%s%s was shut down by %s %s; requests will fail; use %s instead"
                            % (prefix, model_string, fact["provider"], when, fact["replacement"]))
        else:
            warnings.append("%s%s is deprecated by %s and shuts down %s; use %s instead"
                            % (prefix, model_string, fact["provider"], when, fact["replacement"]))
    return warnings


def _missing_api_key_warnings(models):
    warnings = []
    for model in models:
        params = model["litellm_params"]
        provider = _provider_of(params.get("model"))
        if provider in _PROVIDER_KEY_ENV and "api_key" not in params:
            hint = " (for gemini/ GOOGLE_API_KEY wins over GEMINI_API_KEY)" if provider == "gemini" else ""
            warnings.append(
                "model %r has no litellm_params.api_key, so LiteLLM picks the provider's default environment "
                "variable%s; write api_key: os.environ/%s to make the reference explicit"
                % (model["model_name"], hint, _PROVIDER_KEY_ENV[provider])
            )
    return warnings


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------

def _requested_names(models):
    """Names to remove for state=absent: strings or entries with a model_name."""
    if not isinstance(models, (list, tuple)):
        return [], ["models must be a list of model names or entries, not a %s" % _yaml_type(models)]
    names, errors = [], []
    for index, model in enumerate(models):
        name = model.get("model_name") if isinstance(model, Mapping) else model
        if not isinstance(name, str) or not name.strip():
            errors.append("models[%d]: give a model_name (a string, or an entry with model_name) to remove" % index)
        else:
            names.append(name)
    return list(dict.fromkeys(names)), errors


def _positions_by_name(model_list):
    positions = {}
    for index, entry in enumerate(model_list):
        positions.setdefault(entry["model_name"], []).append(index)
    return positions


def _ownership_errors(name, entries, verb):
    errors = []
    if any(not is_managed(entry) for entry in entries):
        errors.append(
            "cannot %s model %r: model_list already has an entry with this model_name that homelab.litellm does "
            "not own (no model_info.managed_by: %s); the operator owns it, so choose another model_name or "
            "change that entry by hand" % (verb, name, MANAGED_BY)
        )
    elif len(entries) > 1:
        errors.append(
            "cannot %s model %r: model_list has %d entries with this model_name marked managed_by: %s; remove the "
            "extra ones by hand" % (verb, name, len(entries), MANAGED_BY)
        )
    return errors


def _append_entries(doc, entries):
    model_list = doc.get("model_list")
    if isinstance(model_list, CommentedSeq) and len(model_list):
        lines = _take_trailing_comment(model_list)
        model_list.extend(_to_node(entry) for entry in entries)
        _give_trailing_comment(model_list, lines)
    elif "model_list" in doc:
        _replace_value(doc, "model_list", entries)
    else:
        doc.insert(0, "model_list", _to_node(entries))


def _merge_router_settings(doc, router_settings):
    current = doc.get("router_settings")
    if current is None:
        if "router_settings" in doc:
            _replace_value(doc, "router_settings", router_settings)
        else:
            _append_to_mapping(doc, "router_settings", router_settings)
        return []
    if not isinstance(current, CommentedMap):
        return ["router_settings in config.yaml is a %s, which LiteLLM ignores; make it a mapping by hand first"
                % _yaml_type(current)]
    _sync_mapping(current, _plain(router_settings), delete_missing=False)
    return []


@dataclass
class _PlannedChanges:
    added: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    new_entries: list = field(default_factory=list)


def _upsert_models(model_list, positions, models, purge):
    """Update owned entries in place; collect new entries and, with ``purge``, owned ones to remove."""
    changes = _PlannedChanges()
    for model in models:
        name = model["model_name"]
        desired = _desired_entry(model)
        if name not in positions:
            changes.new_entries.append(desired)
            changes.added.append(name)
            continue
        entry = model_list[positions[name][0]]
        if _same(_plain(entry), desired):
            changes.unchanged.append(name)
        else:
            _sync_mapping(entry, desired, delete_missing=True)
            changes.updated.append(name)
    if purge:
        requested = set(model["model_name"] for model in models)
        changes.removed = [
            name for name, indexes in positions.items()
            if name not in requested and all(is_managed(model_list[index]) for index in indexes)
        ]
    return changes


def plan_config(current_text, models, *, state="present", purge=False, router_settings=None, extra_params=()):
    """Plan the merge of parallel ``models`` into config.yaml ``current_text``.

    ``state="present"``: upsert each entry by ``model_name`` (new ones appended after the operator's
    entries in input order, changed ones updated in place). ``purge=True`` also removes the owned entries
    not in ``models``. ``state="absent"``: remove the owned entries named in ``models`` (names or entries).
    ``router_settings`` is deep-merged into ``router_settings`` (mappings merged, other values replaced).
    Entries the operator wrote are never changed or removed. Raises ``ConfigError`` for a broken config,
    invalid input, an ownership conflict or any fallback leak in the result.
    """
    if state not in ("present", "absent"):
        raise ConfigError(["state must be 'present' or 'absent', not %r" % (state,)])
    if purge and state != "present":
        raise ConfigError(["purge only works with state=present (it removes owned models not listed in models)"])
    doc = parse_config(current_text)
    before = _plain(doc)
    if state == "present":
        errors = _model_errors(models, frozenset(extra_params))
        names = [model["model_name"] for model in models] if not errors else []
    else:
        names, errors = _requested_names(models)
    if router_settings is not None:
        errors += _router_settings_errors(router_settings)
    if errors:
        raise ConfigError(errors)

    model_list = doc.get("model_list") or []
    positions = _positions_by_name(model_list)
    verb = "write" if state == "present" else "remove"
    for name in names:
        errors += _ownership_errors(name, [model_list[index] for index in positions.get(name, [])], verb)
    if errors:
        raise ConfigError(errors)

    if state == "present":
        changes = _upsert_models(model_list, positions, models, purge)
    else:
        changes = _PlannedChanges(removed=[name for name in names if name in positions],
                                  unchanged=[name for name in names if name not in positions])
    for index in sorted((index for name in changes.removed for index in positions[name]), reverse=True):
        _remove_list_item(doc, "model_list", index)
    if changes.new_entries:
        _append_entries(doc, changes.new_entries)
    if router_settings is not None:
        errors += _merge_router_settings(doc, router_settings)
    if errors:
        raise ConfigError(errors)

    final_list = doc.get("model_list") or []
    managed = [entry["model_name"] for entry in final_list if is_managed(entry)]
    leaks = find_fallback_leaks(doc, managed)
    if leaks:
        raise ConfigError(leaks)

    after_plain = _plain(doc)
    if _same(after_plain, before):
        after = current_text  # nothing changed in meaning: keep the operator's bytes
    else:
        after = render_config(doc, guess_yaml_style(current_text))
    warnings = []
    if state == "present":
        warnings = lifecycle_warnings(models) + _missing_api_key_warnings(models)
    return ConfigPlan(
        changed=after != current_text,
        before=current_text,
        after=after,
        added=sorted(changes.added),
        updated=sorted(changes.updated),
        removed=sorted(changes.removed),
        unchanged=sorted(changes.unchanged),
        env_vars=referenced_env_vars(doc),
        digest=config_digest(after),
        warnings=warnings,
        router_settings_changed=not _same(after_plain.get("router_settings"), before.get("router_settings")),
        model_names=sorted(set(entry["model_name"] for entry in final_list)),
        managed_models=sorted(managed),
    )
