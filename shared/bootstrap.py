"""The one place that builds the real adapters, on first use, never at import.

    services()                      the process's `Services`, built from os.environ the first time
    notifier()                      the process's notification `Notifier`, built the same way
    settings()                      the process's `Settings`, read from os.environ the first time
    build_services(settings, cred)  the real adapters for these settings and this credential
    use_services(services)          a `with` block in which services() returns the given ones
    install_services(services)      the same for the rest of the process (the local host)

The Azure credential is passed in, so tests and the local stack can give a fixed-token one; in
Azure, `services()` uses `DefaultAzureCredential` (the Function App's managed identity).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from azure.core.credentials import TokenCredential

from shared.accounts import AccountSpec
from shared.credentials import app_credential, storage_credential
from shared.notifications.service import Notifier
from shared.pipeline.services import Services, utc_now
from shared.runs.config import RunDefaults
from shared.runs.plan import RunPolicy
from shared.runs.retry import RetryPolicy
from shared.settings import Settings

if TYPE_CHECKING:  # imported when first used, so that importing this module stays cheap
    from azure.storage.queue import QueueClient

__all__ = [
    "Services",
    "build_services",
    "install_services",
    "notifier",
    "services",
    "settings",
    "use_services",
]

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
OPENAI_TIMEOUT_SECONDS = 60.0
# The Azure OpenAI and ARM clients do not retry by themselves: a 429 or 5xx is recorded on the
# run and retried on a later tick with the run's backoff, so no tick sleeps through a Retry-After
# and no POST that creates a paid job is ever replayed blindly.
CLIENT_RETRIES = 0

_lock = threading.Lock()
_current: Services | None = None
_settings: Settings | None = None
_notifier: Notifier | None = None


def policy_from(settings: Settings) -> RunPolicy:
    """The run policy (defaults and timings) the settings describe."""
    return RunPolicy(
        defaults=RunDefaults(
            model=settings.default_model,
            deploy_sku=settings.deploy_sku,
            deploy_capacity=settings.deploy_capacity,
            ttl_hours=settings.deploy_ttl_hours,
            training_type=settings.capacity.training_type,
        ),
        settle_seconds=settings.settle_seconds,
        stalled_after_minutes=settings.stalled_after_minutes,
        claim_lease_seconds=settings.claim_lease_seconds,
        retry=RetryPolicy(base_seconds=settings.retry_base_seconds),
        tick_workers=settings.tick_workers,
        evaluate=settings.eval_enabled,
        limits=settings.capacity.limits,
        keep_files_hours=settings.capacity.keep_files_hours,
        deployment_check_minutes=settings.capacity.deployment_check_minutes,
    )


def build_services(settings: Settings, credential: TokenCredential) -> Services:
    """The real adapters: Table and Blob Storage, Azure OpenAI, ARM. Makes no network call.

    Its `accounts` is the pool (`shared.pipeline.pool`): without AZURE_OPENAI_ACCOUNTS, these
    services are its one account; with it, each account's services are built on first use."""
    from shared.adapters.run_queue import StorageRunQueue
    from shared.pipeline.fan_out import FanOut
    from shared.pipeline.pool import AccountPool, with_home_evaluation

    runs_queue = StorageRunQueue(host_queue(settings, credential, settings.fan_out.queue))
    built = replace(
        _build_services(settings, credential),
        fan_out=FanOut(runs_queue, settings.fan_out.above_runs),
    )
    if not settings.accounts:
        return replace(built, accounts=AccountPool(settings.pool, lambda spec: built))
    return replace(
        built,
        accounts=AccountPool(
            settings.pool,
            lambda spec: with_home_evaluation(
                _build_services(account_settings(settings, spec), credential), built
            ),
        ),
    )


def account_settings(settings: Settings, spec: AccountSpec) -> Settings:
    """The settings of one pool account: its endpoint, subscription, group, name and limits."""
    return replace(
        settings,
        openai_endpoint=spec.endpoint,
        subscription_id=spec.subscription,
        resource_group=spec.resource_group,
        openai_account=spec.account,
        arm_endpoint=spec.arm_endpoint or settings.arm_endpoint,
        capacity=replace(settings.capacity, limits=spec.limits_over(settings.capacity.limits)),
    )


def _build_services(settings: Settings, credential: TokenCredential) -> Services:
    # Imported here so that importing this module (at function app start) stays cheap.
    import openai
    from azure.data.tables import TableServiceClient
    from azure.identity import get_bearer_token_provider
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
    from azure.storage.blob import BlobServiceClient

    from shared.adapters.arm import ArmDeployments
    from shared.adapters.azure_openai import AzureOpenAIChat, AzureOpenAIFineTuning
    from shared.adapters.blob_files import BlobInboxFiles, BlobReportStore
    from shared.adapters.model_catalog import AzureOpenAIModelCatalog
    from shared.adapters.table_store import TableRunStore
    from shared.evaluation.adapters import AzureOpenAIModelCalls, BlobEvaluationReports
    from shared.evaluation.ports import EvaluationKit, EvaluationSettings
    from shared.improvement.adapters import BlobImprovementFiles, BlobInboxWriter
    from shared.improvement.ports import ImprovementKit, ImprovementSettings
    from shared.improvement.service import after_evaluation

    if settings.storage_connection:
        blobs = BlobServiceClient.from_connection_string(settings.storage_connection)
        tables = TableServiceClient.from_connection_string(settings.storage_connection)
    else:
        identity = storage_credential(settings, credential)
        blobs = BlobServiceClient(settings.blob_account_url, credential=identity)
        tables = TableServiceClient(endpoint=settings.table_account_url, credential=identity)
    if settings.openai_api_key:
        client = openai.AzureOpenAI(
            azure_endpoint=settings.openai_endpoint,
            api_key=settings.openai_api_key,
            api_version=settings.openai_api_version,
            timeout=OPENAI_TIMEOUT_SECONDS,
            max_retries=CLIENT_RETRIES,
        )
    else:
        client = openai.AzureOpenAI(
            azure_endpoint=settings.openai_endpoint,
            azure_ad_token_provider=get_bearer_token_provider(credential, COGNITIVE_SERVICES_SCOPE),
            api_version=settings.openai_api_version,
            timeout=OPENAI_TIMEOUT_SECONDS,
            max_retries=CLIENT_RETRIES,
        )
    arm = CognitiveServicesManagementClient(
        credential,
        settings.subscription_id,
        base_url=settings.arm_endpoint,
        connection_verify=settings.arm_ca_bundle or True,
        retry_total=CLIENT_RETRIES,
    )
    improvement = ImprovementKit(
        ImprovementSettings(
            phrasings=settings.improve_phrasings,
            max_usd=settings.improve_max_usd,
            max_examples=settings.improve_max_examples,
        ),
        BlobInboxWriter(blobs, settings.inbox_container),
        BlobImprovementFiles(blobs, settings.reports_container),
    )
    return Services(
        runs=TableRunStore(tables.get_table_client(settings.runs_table)),
        inbox=BlobInboxFiles(blobs, settings.inbox_container),
        reports=BlobReportStore(blobs, settings.reports_container),
        fine_tuning=AzureOpenAIFineTuning(client),
        deployments=ArmDeployments(arm, settings.resource_group, settings.openai_account),
        chat=AzureOpenAIChat(client),
        policy=policy_from(settings),
        base_deployment=settings.base_deployment,
        max_chat_tokens=settings.max_chat_tokens,
        settings=settings,
        evaluation=EvaluationKit(
            EvaluationSettings(
                enabled=settings.eval_enabled,
                grader_deployment=settings.eval_grader_deployment,
                base_deployment=settings.base_deployment,
                trained_probes=settings.eval_probes,
                paraphrases_per_question=settings.eval_paraphrases,
                validation_probes=settings.eval_probes,
                call_cap=settings.eval_max_calls,
                calls_per_tick=settings.eval_calls_per_tick,
                max_tokens=settings.eval_max_tokens,
                usd_per_million_tokens=settings.eval_usd_per_million_tokens,
            ),
            AzureOpenAIModelCalls(client),
            BlobEvaluationReports(blobs, settings.reports_container),
            on_evaluated=partial(after_evaluation, improvement),
        ),
        improvement=improvement,
        models=AzureOpenAIModelCatalog(
            client, timedelta(minutes=settings.model_catalog_ttl_minutes)
        ),
    )


def build_notifier(settings: Settings, credential: TokenCredential) -> Notifier:
    """The real notification adapters: the runs table, the delivery queue, the senders."""
    from azure.data.tables import TableServiceClient

    from shared.adapters.delivery_queue import StorageDeliveryQueue
    from shared.adapters.event_senders import EventGridSender, WebhookSender
    from shared.adapters.event_table import TableEventStore

    options = settings.notifications
    if settings.storage_connection:
        tables = TableServiceClient.from_connection_string(settings.storage_connection)
    else:
        identity = storage_credential(settings, credential)
        tables = TableServiceClient(endpoint=settings.table_account_url, credential=identity)
    queue = host_queue(settings, credential, options.queue)
    event_grid = None
    if options.event_grid_endpoint:
        from azure.core.credentials import AzureKeyCredential
        from azure.eventgrid import EventGridPublisherClient

        grid_credential: object = (
            AzureKeyCredential(options.event_grid_key) if options.event_grid_key else credential
        )
        event_grid = EventGridSender(
            EventGridPublisherClient(options.event_grid_endpoint, grid_credential, retry_total=0)
        )
    return Notifier(
        events=TableEventStore(tables.get_table_client(settings.runs_table)),
        queue=StorageDeliveryQueue(queue),
        webhooks=WebhookSender(options),
        event_grid=event_grid,
        settings=options,
        clock=utc_now,
    )


def host_queue(settings: Settings, credential: TokenCredential, name: str) -> QueueClient:
    """A client of the storage queue `name`, writing base64 as the Functions host reads it."""
    from azure.storage.queue import QueueClient, TextBase64EncodePolicy

    encoding = TextBase64EncodePolicy()
    if settings.storage_connection:
        return QueueClient.from_connection_string(
            settings.storage_connection, name, message_encode_policy=encoding
        )
    return QueueClient(
        settings.queue_account_url, name, credential=storage_credential(settings, credential),
        message_encode_policy=encoding,
    )  # fmt: skip


def notifier() -> Notifier:
    """The notifier of this process: built from the environment on first call, then reused."""
    global _notifier
    with _lock:
        if _current is not None and _current.notifier is not None:
            return _current.notifier
    current_settings = settings()
    with _lock:
        if _notifier is None or _notifier.settings is not current_settings.notifications:
            _notifier = build_notifier(current_settings, app_credential(current_settings))
        return _notifier


def settings() -> Settings:
    """The settings of this process, read from the environment once; raises `SettingsError`
    naming every missing or malformed setting."""
    global _settings
    with _lock:
        # Services swapped in (tests, the local host) bring their own settings.
        if _current is not None and _current.settings is not None:
            return _current.settings
        if _settings is None:
            _settings = Settings.from_env(os.environ)
        return _settings


def services() -> Services:
    """The services of this process: built from the environment on first call, then reused."""
    global _current
    with _lock:
        if _current is not None:
            return _current
    current_settings = settings()
    with _lock:
        if _current is None:
            _current = build_services(current_settings, app_credential(current_settings))
        return _current


def install_services(chosen: Services | None) -> None:
    """Makes `services()` return `chosen` from now on (None: build from the environment again,
    re-reading the settings too)."""
    global _current, _settings
    with _lock:
        _current = chosen
        if chosen is None:
            _settings = None


@contextmanager
def use_services(chosen: Services) -> Iterator[Services]:
    """Within the block, `services()` returns `chosen`; the previous ones come back after."""
    global _current
    with _lock:
        previous, _current = _current, chosen
    try:
        yield chosen
    finally:
        with _lock:
            _current = previous
