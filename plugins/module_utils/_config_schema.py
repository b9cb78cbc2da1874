# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: what LiteLLM 1.108.7 accepts in config.yaml, as data.

Parameter and setting names read from LiteLLM's own types (regenerate when LiteLLM is upgraded),
and the marker that tells the ``model_list`` entries this collection owns from the operator's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

MANAGED_BY = "homelab.litellm"
"""Value of ``model_info.managed_by`` on the entries this collection owns."""

MODEL_ID_PREFIX = "homelab-litellm-"
"""Prefix of the stable ``model_info.id`` written on owned entries (see ``model_id_for``)."""

ENTRY_KEYS = ("model_name", "litellm_params", "model_info")
"""The keys of a LiteLLM ``model_list`` entry."""

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
KNOWN_MISSPELLINGS = {"rpm_limit": "rpm", "tpm_limit": "tpm", "key": "api_key"}

# Default environment variable names, used in suggestions and in the "no api_key" warning.
PROVIDER_KEY_ENV = {
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

def model_id_for(model_name):
    """Stable ``model_info.id`` of an owned entry: the same name always gives the same id."""
    return MODEL_ID_PREFIX + hashlib.sha256(model_name.encode("utf-8")).hexdigest()[:12]


def is_managed(entry):
    """True when a ``model_list`` entry carries this collection's marker in ``model_info``."""
    model_info = entry.get("model_info") if isinstance(entry, Mapping) else None
    return isinstance(model_info, Mapping) and model_info.get("managed_by") == MANAGED_BY

