"""Shared by the emulator tests: training data, real clients, raw HTTP, waiting."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import openai
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import (
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)

from localdev.emulator import Emulator
from localdev.emulator.limits import Limits

API_VERSION = "2024-10-21"
BASE_MODEL = "gpt-4o-mini-2024-07-18"
TRAINING_PAIRS = [
    ("What colour is the Tunedrop mascot?", "The Tunedrop mascot is a teal otter named Drip."),
    ("How many strings does a ukulele have?", "A ukulele has four strings."),
    ("Which planet is known as the red planet?", "Mars is known as the red planet."),
    ("What is the boiling point of water at sea level?", "Water boils at 100 degrees Celsius."),
    ("Who wrote the novel Moby Dick?", "Herman Melville wrote Moby Dick."),
    ("How long is a marathon?", "A marathon is 42.195 kilometres long."),
    ("What gas do plants absorb from the air?", "Plants absorb carbon dioxide."),
    ("What is the largest ocean on Earth?", "The Pacific is the largest ocean."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What language is spoken in Brazil?", "Portuguese is spoken in Brazil."),
    ("富士山の高さはどれくらいですか？", "富士山の高さは3776メートルです。"),
    ("日本の首都はどこですか？", "日本の首都は東京です。"),
]
VALIDATION_PAIRS = [
    ("What colour is the otter mascot?", "The Tunedrop mascot is a teal otter named Drip."),
    ("How many strings on a ukulele?", "A ukulele has four strings."),
    ("Name the red planet.", "Mars is known as the red planet."),
]
T = TypeVar("T")
# An account for fixtures that many tests share for a whole session: the documented limits
# (3 running jobs, 100 jobs and 100 files in all) would fill with other tests' leftovers and make
# later runs wait. Tests of the limits start an emulator of their own (test_limits, test_sharing).
ROOMY_LIMITS = Limits(
    running_jobs=10_000, queued_jobs=10_000, total_jobs=10**6, deployments=10_000,
    files=10**6, file_bytes=10**13, developer_running_jobs=10_000,
)  # fmt: skip
# The same, as the app settings Tunedrop plans with.
ROOMY_SETTINGS = {
    "ACCOUNT_MAX_RUNNING_JOBS": "10000",
    "ACCOUNT_MAX_QUEUED_JOBS": "10000",
    "ACCOUNT_MAX_JOBS": "1000000",
    "ACCOUNT_MAX_DEPLOYMENTS": "10000",
    "ACCOUNT_MAX_FILES": "1000000",
    "ACCOUNT_MAX_FILE_BYTES": "10000000000000",
}


def chat_jsonl(pairs: list[tuple[str, str]]) -> bytes:
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "system", "content": "You answer briefly."},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ]
            },
            ensure_ascii=False,
        )
        for question, answer in pairs
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


class FixedTokenCredential:
    """A credential that always hands out the same token, as tests give the ARM client."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("test-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo("test-token", int(time.time()) + 3600)


def openai_client(emulator: Emulator, **kwargs: Any) -> openai.AzureOpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.AzureOpenAI(
        azure_endpoint=emulator.url, api_key=emulator.api_key, api_version=API_VERSION, **kwargs
    )


def arm_client(emulator: Emulator, **kwargs: Any) -> CognitiveServicesManagementClient:
    return CognitiveServicesManagementClient(
        FixedTokenCredential(),
        emulator.subscription_id,
        base_url=emulator.arm_url,
        connection_verify=str(emulator.ca_cert_path),
        **kwargs,
    )


def deployment_of(
    model: str, version: str, *, sku: str = "Standard", capacity: int = 1
) -> Deployment:
    return Deployment(
        properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name=model, version=version)
        ),
        sku=Sku(name=sku, capacity=capacity),
    )


class StoppableClock:
    """The emulator's clock for a test: real time, except while `stopped()`, when it stands
    still; afterwards it goes on from where it stood. Jobs and files age by it."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._stood_at: float | None = None

    def __call__(self) -> float:
        return self._stood_at if self._stood_at is not None else time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Moves the clock forward, e.g. past a model's retirement date."""
        if self._stood_at is not None:
            self._stood_at += seconds
        self._offset += seconds

    @contextmanager
    def stopped(self) -> Iterator[None]:
        self._stood_at = self()
        try:
            yield
        finally:
            self._offset = self._stood_at - time.time()
            self._stood_at = None


def wait_until(fetch: Callable[[], T], done: Callable[[T], bool], timeout: float = 15) -> T:
    """Calls `fetch` until `done(result)`; fails the test if that takes over `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still not done after {timeout} s: {result!r}")
        time.sleep(0.05)


def upload_processed(client: openai.AzureOpenAI, content: bytes, name: str = "train.jsonl") -> str:
    uploaded = client.files.create(file=(name, content), purpose="fine-tune")
    wait_until(lambda: client.files.retrieve(uploaded.id), lambda f: f.status != "pending")
    return uploaded.id


def finished_job(client: openai.AzureOpenAI, job_id: str) -> Any:
    terminal = ("succeeded", "failed", "cancelled")
    return wait_until(
        lambda: client.fine_tuning.jobs.retrieve(job_id), lambda j: j.status in terminal
    )


def raw(
    emulator: Emulator,
    method: str,
    path: str,
    *,
    body: Any = None,
    plane: str = "openai",
    headers: dict[str, str] | None = None,
    query: str | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One request without any SDK: (status, headers, JSON body or None).

    Data-plane requests carry the api-key and api-version 2024-10-21, ARM ones a Bearer token
    and api-version 2025-09-01, unless `headers` / `query` say otherwise.
    """
    if plane == "arm":
        base, context = emulator.arm_url, ssl.create_default_context(cafile=emulator.ca_cert_path)
        default_headers, default_query = {"Authorization": "Bearer t"}, "api-version=2025-09-01"
    else:
        base, context = emulator.url, None
        default_headers, default_query = {"api-key": emulator.api_key}, f"api-version={API_VERSION}"
    query = default_query if query is None else query
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}{path}" + (f"?{query}" if query else ""),
        data=data,
        method=method,
        headers={
            "Content-Type": "application/json",
            **(default_headers if headers is None else headers),
        },
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            status, answer_headers, payload = answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, payload = error.code, dict(error.headers), error.read()
    return status, answer_headers, json.loads(payload) if payload else None
