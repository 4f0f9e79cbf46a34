"""The notification settings: webhook endpoints and the events each wants, signing secrets,
delivery timings and the optional Event Grid topic. Read with the other app settings.

    WEBHOOKS                     JSON list: [{"name": "billing", "url": "https://...",
                                 "events": ["tunedrop.run.deployed", "tunedrop.run.failed"]}]
                                 ("events" left out: every event); default [] (no webhooks);
                                 optional "secret" (and "previous_secret"): the endpoint's own
    WEBHOOK_SECRET               whsec_<base64>: signs deliveries to every endpoint without its
                                 own secret (required then)
    WEBHOOK_PREVIOUS_SECRET      during a rotation: deliveries carry a signature by each secret
    WEBHOOK_TIMEOUT_SECONDS      10
    WEBHOOK_RETRY_BASE_SECONDS   60     first delay, doubling ...
    WEBHOOK_RETRY_MAX_SECONDS    21600  ... up to 6 h
    WEBHOOK_MAX_ATTEMPTS         12     then the delivery is a dead letter
    WEBHOOK_ALLOW_PRIVATE_URLS   false  local only, refused in Azure: http and private addresses
    EVENTGRID_ENDPOINT           empty: off; else the topic endpoint to publish CloudEvents to
    EVENTGRID_KEY                empty: the managed identity; a key only for a loopback endpoint
    EVENTS_QUEUE                 tunedrop-events: the delivery queue (also named in the binding)
    EVENTS_TIMER_SCHEDULE        the sweeper's NCRONTAB schedule (read by the host only)
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared.notifications.events import EVENT_TYPES
from shared.notifications.policy import DeliveryPolicy
from shared.notifications.urls import url_problem

EVENT_GRID = "eventgrid"
ENDPOINT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
QUEUE_NAME = re.compile(r"^(?=.{3,57}$)[a-z0-9]+(-[a-z0-9]+)*$")  # 63 less "-poison"


@dataclass(frozen=True)
class WebhookEndpoint:
    name: str
    url: str = field(repr=False)  # may carry a token in its path
    events: frozenset[str] = frozenset()
    # This endpoint's own signing secrets (its "secret" and "previous_secret" in WEBHOOKS), so
    # that no other receiver can forge deliveries it accepts; empty: the shared WEBHOOK_SECRET.
    secret: str = field(default="", repr=False)
    previous_secret: str = field(default="", repr=False)

    def wants(self, event_type: str) -> bool:
        return event_type in self.events


@dataclass(frozen=True)
class NotificationSettings:
    """Secrets are masked in `repr`."""

    webhooks: tuple[WebhookEndpoint, ...] = ()
    secret: str = field(default="", repr=False)
    previous_secret: str = field(default="", repr=False)
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    allow_private_urls: bool = False
    event_grid_endpoint: str = ""
    event_grid_key: str = field(default="", repr=False)
    queue: str = "tunedrop-events"

    @property
    def secrets(self) -> tuple[str, ...]:
        """The current secret, then the previous one while a rotation lasts."""
        return tuple(item for item in (self.secret, self.previous_secret) if item)

    def secrets_for(self, hook: WebhookEndpoint) -> tuple[str, ...]:
        """The secrets that sign deliveries to `hook`: its own when it has one, else the shared
        ones; the current secret first, then the previous one while a rotation lasts."""
        if hook.secret:
            return tuple(item for item in (hook.secret, hook.previous_secret) if item)
        return self.secrets

    def targets(self, event_type: str) -> list[str]:
        """The endpoints (by name) that get an event of this type; Event Grid gets every one."""
        names = [hook.name for hook in self.webhooks if hook.wants(event_type)]
        if self.event_grid_endpoint:
            names.append(EVENT_GRID)
        return names

    def webhook(self, name: str) -> WebhookEndpoint | None:
        return next((hook for hook in self.webhooks if hook.name == name), None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], problems: list[str]) -> NotificationSettings:
        """Reads the settings, appending a sentence per bad one to `problems`."""
        allow_private = _flag(environ, "WEBHOOK_ALLOW_PRIVATE_URLS", problems)
        webhooks = _webhooks(environ.get("WEBHOOKS", "").strip(), allow_private, problems)
        secret = environ.get("WEBHOOK_SECRET", "").strip()
        previous = environ.get("WEBHOOK_PREVIOUS_SECRET", "").strip()
        if any(not hook.secret for hook in webhooks) and not secret:
            problems.append("WEBHOOK_SECRET is missing: WEBHOOKS are signed with it")
        if allow_private and environ.get("WEBSITE_INSTANCE_ID", "").strip():
            # The Functions host sets WEBSITE_INSTANCE_ID in Azure: there, loopback and private
            # addresses are the platform's and the virtual network's, never a test receiver.
            problems.append(
                "WEBHOOK_ALLOW_PRIVATE_URLS is for local use only and is refused in Azure "
                "(WEBSITE_INSTANCE_ID is set)"
            )
        for name, value in (("WEBHOOK_SECRET", secret), ("WEBHOOK_PREVIOUS_SECRET", previous)):
            if value and not _is_secret(value):
                problems.append(f"{name} must be whsec_ followed by base64 (at least 24 bytes)")
        policy = DeliveryPolicy(
            timeout_seconds=_number(environ, "WEBHOOK_TIMEOUT_SECONDS", 10.0, problems),
            base_seconds=_number(environ, "WEBHOOK_RETRY_BASE_SECONDS", 60.0, problems),
            max_seconds=_number(environ, "WEBHOOK_RETRY_MAX_SECONDS", 21600.0, problems),
            max_attempts=int(_number(environ, "WEBHOOK_MAX_ATTEMPTS", 12, problems)),
        )
        grid = environ.get("EVENTGRID_ENDPOINT", "").strip().rstrip("/")
        grid_key = environ.get("EVENTGRID_KEY", "").strip()
        if grid and not re.match(r"^https?://[^\s/]+", grid):
            problems.append(f"EVENTGRID_ENDPOINT must be an http(s) URL, not {grid!r}")
        elif grid_key and urlsplit(grid).hostname not in LOOPBACK_HOSTS:
            problems.append(
                "EVENTGRID_KEY is only for a local stand-in on loopback; in Azure, Tunedrop "
                "publishes with its managed identity (role EventGrid Data Sender)"
            )
        elif grid and not grid_key and not grid.startswith("https://"):
            problems.append("EVENTGRID_ENDPOINT must use https with the managed identity")
        queue = environ.get("EVENTS_QUEUE", "").strip() or "tunedrop-events"
        if not QUEUE_NAME.match(queue):
            problems.append(f"EVENTS_QUEUE {queue!r} is not a valid queue name (3-57 of a-z 0-9 -)")
        return cls(
            queue=queue,
            webhooks=webhooks,
            secret=secret,
            previous_secret=previous,
            policy=policy,
            allow_private_urls=allow_private,
            event_grid_endpoint=grid,
            event_grid_key=grid_key,
        )


def _webhooks(raw: str, allow_private: bool, problems: list[str]) -> tuple[WebhookEndpoint, ...]:
    if not raw:
        return ()
    try:
        items = json.loads(raw)
    except ValueError:
        problems.append("WEBHOOKS must be a JSON list of {name, url, events}")
        return ()
    if not isinstance(items, list):
        problems.append("WEBHOOKS must be a JSON list of {name, url, events}")
        return ()
    endpoints: list[WebhookEndpoint] = []
    for index, item in enumerate(items):
        where = f"WEBHOOKS[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object with name, url and events")
            continue
        name, url, events = item.get("name"), item.get("url"), item.get("events", "*")
        if not isinstance(name, str) or not ENDPOINT_NAME.match(name) or name == EVENT_GRID:
            problems.append(f"{where}.name must be 1-40 of a-z 0-9 - (not {EVENT_GRID!r})")
            continue
        if any(hook.name == name for hook in endpoints):
            problems.append(f"{where}.name {name!r} is used twice")
            continue
        problem = url_problem(url, allow_private) if isinstance(url, str) else "is missing"
        if problem:
            problems.append(f"{where}.url {problem}")
            continue
        own = [item.get(key, "") for key in ("secret", "previous_secret")]
        bad = [key for key, value in zip(("secret", "previous_secret"), own, strict=True)
               if value != "" and not (isinstance(value, str) and _is_secret(value))]  # fmt: skip
        if bad:
            problems.extend(
                f"{where}.{key} must be whsec_ followed by base64 (at least 24 bytes)"
                for key in bad
            )
            continue
        if events == "*":
            wanted = frozenset(EVENT_TYPES)
        elif isinstance(events, list) and all(isinstance(e, str) for e in events):
            unknown = sorted(set(events) - set(EVENT_TYPES))
            if unknown:
                problems.append(f"{where}.events: unknown event types {', '.join(unknown)}")
                continue
            wanted = frozenset(events)
        else:
            problems.append(f'{where}.events must be a list of event types or "*"')
            continue
        endpoints.append(WebhookEndpoint(name, str(url), wanted, str(own[0]), str(own[1])))
    return tuple(endpoints)


def _is_secret(value: str) -> bool:
    if not value.startswith("whsec_"):
        return False
    try:
        return len(base64.b64decode(value[6:], validate=True)) >= 24
    except (binascii.Error, ValueError):
        return False


def _flag(environ: Mapping[str, str], name: str, problems: list[str]) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    problems.append(f"{name} must be true or false, not {raw!r}")
    return False


def _number(environ: Mapping[str, str], name: str, default: float, problems: list[str]) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name} must be a number, not {raw!r}")
        return default
    if value <= 0:
        problems.append(f"{name} must be greater than 0, not {raw!r}")
        return default
    return value
