"""Tunedrop's app settings: read once from the environment into one frozen object.

Every setting is listed in `local.settings.example.json` and in the README's table. Reading
collects every problem first, so a misconfigured app fails with one message naming each
missing or malformed setting instead of one at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from shared.accounts import SETTING as ACCOUNTS_SETTING
from shared.accounts import AccountSpec, parse_accounts, single_account
from shared.capacity_settings import CapacitySettings
from shared.errors import SettingsError
from shared.fan_out_settings import FanOutSettings
from shared.notifications.settings import NotificationSettings

T = TypeVar("T")

# Azure naming rules: containers 3-63 lowercase letters, digits and single dashes; tables
# 3-63 alphanumerics starting with a letter.
CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
SECRET_FIELDS = frozenset({"storage_connection", "openai_api_key"})


@dataclass(frozen=True)
class Settings:
    """Every app setting Tunedrop reads, typed and checked. Secrets are masked in `repr`."""

    storage_connection: str
    storage_account_name: str
    openai_endpoint: str
    openai_api_key: str
    openai_api_version: str
    subscription_id: str
    resource_group: str
    openai_account: str
    arm_endpoint: str
    arm_ca_bundle: str
    inbox_container: str
    reports_container: str
    runs_table: str
    default_model: str
    base_deployment: str
    settle_seconds: float
    deploy_ttl_hours: float
    deploy_sku: str
    deploy_capacity: int
    max_chat_tokens: int
    max_request_bytes: int
    stalled_after_minutes: float
    # How soon a step is retried after a transient error (doubling from there) and how long a
    # claimed step blocks other ticks; the defaults suit Azure, tests make them short.
    retry_base_seconds: float = 30.0
    claim_lease_seconds: float = 300.0
    tick_workers: int = 8
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    # The evaluation of deployed models (shared.evaluation; see the README's Evaluation).
    eval_enabled: bool = True
    eval_grader_deployment: str = ""
    eval_probes: int = 12
    eval_paraphrases: int = 2
    eval_max_calls: int = 400
    eval_calls_per_tick: int = 4
    eval_max_tokens: int = 300
    eval_usd_per_million_tokens: float = 2.5
    # Storage through Entra ID: the Functions host's identity-based connection forms
    # (`AzureWebJobsStorage__*`); a service URI wins over the one built from the account name.
    storage_blob_uri: str = ""
    storage_queue_uri: str = ""
    storage_table_uri: str = ""
    storage_credential: str = ""  # "managedidentity", or empty for the app's credential
    storage_client_id: str = ""  # a user-assigned identity's client id, for storage only
    azure_client_id: str = ""  # AZURE_CLIENT_ID: the user-assigned identity, for everything
    extra: Mapping[str, str] = field(default_factory=dict, compare=False)
    health_cache_seconds: float = 10.0  # GET /api/health answers from its last probes this long
    chat_max_input_tokens: int = 4000  # o200k tokens of a chat request's messages (413 past it)
    # Improving a run (shared.improvement; see the README's "Improving a run").
    improve_phrasings: int = 12
    improve_max_usd: float = 5.0
    improve_max_examples: int = 200
    # How long the account's model list (GET /openai/models) is kept before it is asked again.
    model_catalog_ttl_minutes: float = 60.0
    # Sharing the Azure OpenAI account: limits, file clean-up, deployment checks.
    capacity: CapacitySettings = field(default_factory=CapacitySettings)
    # The pool of Azure OpenAI accounts (AZURE_OPENAI_ACCOUNTS; shared.accounts). Empty: the
    # single-account settings above are the pool of one (`pool`).
    accounts: tuple[AccountSpec, ...] = ()
    # The timer at scale: when a tick puts its due runs on a queue (shared.fan_out_settings).
    fan_out: FanOutSettings = field(default_factory=FanOutSettings)

    @property
    def pool(self) -> tuple[AccountSpec, ...]:
        """Every account runs may be placed on, in the order of the setting."""
        return self.accounts or (
            single_account(
                self.openai_endpoint, self.subscription_id, self.resource_group, self.openai_account
            ),
        )

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            if item.name == "extra":
                continue
            value = getattr(self, item.name)
            if item.name in SECRET_FIELDS and value:
                value = "***"
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def uses_storage_identity(self) -> bool:
        """True when storage is reached with Entra ID (an account name) rather than a key."""
        return not self.storage_connection

    @property
    def blob_account_url(self) -> str:
        uri = self.storage_blob_uri or f"https://{self.storage_account_name}.blob.core.windows.net"
        return uri.rstrip("/")

    @property
    def queue_account_url(self) -> str:
        uri = (
            self.storage_queue_uri or f"https://{self.storage_account_name}.queue.core.windows.net"
        )
        return uri.rstrip("/")

    @property
    def table_account_url(self) -> str:
        uri = (
            self.storage_table_uri or f"https://{self.storage_account_name}.table.core.windows.net"
        )
        return uri.rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Reads and checks every setting; raises `SettingsError` naming each bad one."""
        reader = _Reader(environ)
        connection = reader.text("AzureWebJobsStorage", "")
        account = reader.text("AzureWebJobsStorage__accountName", "")
        uris = {
            kind: reader.url(f"AzureWebJobsStorage__{kind}ServiceUri", "")
            for kind in ("blob", "queue", "table")
        }
        credential = reader.text("AzureWebJobsStorage__credential", "")
        if not connection and not account and not any(uris.values()):
            reader.problems.append(
                "AzureWebJobsStorage is missing: set a storage connection string "
                "(UseDevelopmentStorage=true locally), AzureWebJobsStorage__accountName, or "
                "AzureWebJobsStorage__blobServiceUri, __queueServiceUri and __tableServiceUri"
            )
        elif not connection and not account:
            # Without an account name the host and Tunedrop need every service's URI.
            reader.problems.extend(
                f"AzureWebJobsStorage__{kind}ServiceUri is missing: with service URIs instead "
                "of AzureWebJobsStorage__accountName, set all three"
                for kind, uri in uris.items()
                if not uri
            )
        if credential and credential.lower() != "managedidentity":
            reader.problems.append(
                f"AzureWebJobsStorage__credential must be 'managedidentity', not {credential!r}"
            )
        accounts = ()
        if environ.get(ACCOUNTS_SETTING, "").strip():
            accounts = parse_accounts(environ[ACCOUNTS_SETTING], reader.problems)
        # With a pool, the single-account settings default to its first account.
        first = accounts[0] if accounts else None
        settings = cls(
            storage_connection=connection,
            storage_account_name=account,
            openai_endpoint=reader.url("AZURE_OPENAI_ENDPOINT", first and first.endpoint),
            openai_api_key=reader.text("AZURE_OPENAI_API_KEY", ""),
            openai_api_version=reader.text("AZURE_OPENAI_API_VERSION", "2024-10-21"),
            subscription_id=reader.text("AZURE_SUBSCRIPTION_ID", first and first.subscription),
            resource_group=reader.text("AZURE_RESOURCE_GROUP", first and first.resource_group),
            openai_account=reader.text("AZURE_OPENAI_ACCOUNT", first and first.account),
            arm_endpoint=reader.url("ARM_ENDPOINT", "https://management.azure.com"),
            arm_ca_bundle=reader.text("ARM_CA_BUNDLE", ""),
            inbox_container=reader.matching("INBOX_CONTAINER", CONTAINER_NAME, "training-inbox"),
            reports_container=reader.matching(
                "REPORTS_CONTAINER", CONTAINER_NAME, "training-reports"
            ),
            runs_table=reader.matching("RUNS_TABLE", TABLE_NAME, "TunedropRuns"),
            default_model=reader.text(
                "DEFAULT_MODEL", "gpt-oss-20b"
            ),  # shared.models.DEFAULT_MODEL
            base_deployment=reader.text("BASE_DEPLOYMENT", ""),
            settle_seconds=reader.number("SETTLE_SECONDS", float, 60.0),
            deploy_ttl_hours=reader.number("DEPLOY_TTL_HOURS", float, 24.0),
            deploy_sku=reader.text("DEPLOY_SKU", "Standard"),
            deploy_capacity=reader.number("DEPLOY_CAPACITY", int, 1),
            max_chat_tokens=reader.number("MAX_CHAT_TOKENS", int, 800),
            max_request_bytes=reader.number("MAX_REQUEST_BYTES", int, 8 * 1024 * 1024),
            stalled_after_minutes=reader.number("STALLED_AFTER_MINUTES", float, 120.0),
            retry_base_seconds=reader.number("RETRY_BASE_SECONDS", float, 30.0),
            claim_lease_seconds=reader.number("CLAIM_LEASE_SECONDS", float, 300.0),
            tick_workers=reader.number("TICK_WORKERS", int, 8),
            notifications=NotificationSettings.from_env(environ, reader.problems),
            eval_enabled=reader.flag("EVAL_ENABLED", True),
            eval_grader_deployment=reader.text("EVAL_GRADER_DEPLOYMENT", ""),
            eval_probes=reader.number("EVAL_PROBES", int, 12),
            eval_paraphrases=reader.number("EVAL_PARAPHRASES", int, 2),
            eval_max_calls=reader.number("EVAL_MAX_CALLS", int, 400),
            eval_calls_per_tick=reader.number("EVAL_CALLS_PER_TICK", int, 4),
            eval_max_tokens=reader.number("EVAL_MAX_TOKENS", int, 300),
            eval_usd_per_million_tokens=reader.number("EVAL_USD_PER_MILLION_TOKENS", float, 2.5),
            storage_blob_uri=uris["blob"],
            storage_queue_uri=uris["queue"],
            storage_table_uri=uris["table"],
            storage_credential=credential.lower(),
            storage_client_id=reader.text("AzureWebJobsStorage__clientId", ""),
            azure_client_id=reader.text("AZURE_CLIENT_ID", ""),
            extra={k: v for k, v in environ.items() if k.startswith("TUNEDROP_")},
            health_cache_seconds=reader.number("HEALTH_CACHE_SECONDS", float, 10.0),
            chat_max_input_tokens=reader.number("CHAT_MAX_INPUT_TOKENS", int, 4000),
            improve_phrasings=reader.number("IMPROVE_PHRASINGS", int, 12),
            improve_max_usd=reader.number("IMPROVE_MAX_USD", float, 5.0),
            improve_max_examples=reader.number("IMPROVE_MAX_EXAMPLES", int, 200),
            model_catalog_ttl_minutes=reader.number("MODEL_CATALOG_TTL_MINUTES", float, 60.0),
            capacity=CapacitySettings.from_env(environ, reader.problems),
            accounts=accounts,
            fan_out=FanOutSettings.from_env(environ, reader.problems),
        )
        if reader.problems:
            raise SettingsError(
                "Tunedrop cannot start; fix these app settings: " + "; ".join(reader.problems),
                settings=_named(reader.problems),
            )
        return settings


def _named(problems: list[str]) -> tuple[str, ...]:
    """The setting each problem names (every problem sentence starts with it), in order."""
    names = (re.match(r"[A-Za-z][A-Za-z0-9_]*", problem) for problem in problems)
    return tuple(dict.fromkeys(match.group(0) for match in names if match))


class _Reader:
    """Reads settings while collecting every problem, so all of them are reported at once."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str:
        value = self.environ.get(name, "").strip()
        if value:
            return value
        if default is None:
            self.problems.append(f"{name} is missing")
            return ""
        return default

    def url(self, name: str, default: str | None = None) -> str:
        value = self.text(name, default)
        if value and not re.match(r"^https?://[^\s/]+", value):
            self.problems.append(f"{name} must be an http(s) URL, not {value!r}")
        return value.rstrip("/")

    def matching(self, name: str, pattern: re.Pattern[str], default: str) -> str:
        value = self.text(name, default)
        if not pattern.match(value):
            self.problems.append(f"{name} {value!r} is not a valid name")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self.environ.get(name, "").strip().lower()
        if not raw:
            return default
        if raw not in ("true", "false", "1", "0"):
            self.problems.append(f"{name} must be true or false, not {raw!r}")
            return default
        return raw in ("true", "1")

    def number(self, name: str, kind: Callable[[str], T], default: T) -> T:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value: Any = kind(raw)
        except ValueError:
            self.problems.append(f"{name} must be a {kind.__name__}, not {raw!r}")
            return default
        if value <= 0:
            self.problems.append(f"{name} must be greater than 0, not {raw!r}")
            return default
        return value
