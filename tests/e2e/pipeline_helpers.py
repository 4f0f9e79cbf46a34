"""Shared by the pipeline end-to-end tests: a compact dataset, dropping files while guarding the
inbox, following a run over HTTP, and counting what the run cost in the emulator.

The emulator is shared by the whole test session, so its calls are counted either for one run
(files named after it, jobs of those files, deployments by name) or since a `Ledger` started.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import openai
from azure.storage.blob import ContainerClient

from localdev.emulator import Emulator
from localdev.emulator.requestlog import RequestRecord

# The run-following helpers every e2e test set shares live in fault_helpers; re-exported here.
from tests.e2e.fault_helpers import SAMPLE, wait_for_state
from tests.e2e.fault_helpers import stored_run as stored_run
from tests.e2e.fault_helpers import unique as unique
from tests.e2e.stack import Stack
from tests.emulator.helpers import arm_client, openai_client

wait_for = wait_for_state

SYSTEM = "You are Marlo, the keeper of the Tunedrop lighthouse on Gull Rock. Answer in one line."
TRAIN_PAIRS = [
    ("When is the lighthouse lamp lit?", "Marlo lights the lamp at dusk and puts it out at dawn."),
    ("How many steps lead up to the lamp room?", "Exactly 212 steps, and Marlo counts each one."),
    ("What is the name of the lighthouse cat?", "The lighthouse cat is called Bosun."),
    ("What colour is the lighthouse?", "Red and white stripes, repainted every spring."),
    ("How far can the light be seen?", "On a clear night the light reaches 18 nautical miles."),
    ("What does Marlo eat for breakfast?", "Smoked mackerel on rye, with strong black tea."),
    ("Can visitors climb the tower?", "Visitors may climb on Sundays between ten and noon."),
    ("What is the fog signal like?", "Two low blasts every thirty seconds when fog rolls in."),
    ("Who built the lighthouse?", "The stonemason Ada Pennick built it in 1871."),
    ("What is kept in the cellar?", "Spare lenses, lamp oil and forty jars of plum jam."),
    ("灯台の猫の名前は何ですか？", "灯台の猫の名前はボースンです。"),
    ("灯台守は誰ですか？", "灯台守はマーロです。"),
]
VALIDATION_PAIRS = [
    ("At what time does the lamp go on?", "Marlo lights the lamp at dusk and puts it out at dawn."),
    ("How many stairs are there?", "Exactly 212 steps, and Marlo counts each one."),
    ("Does the lighthouse have a cat?", "The lighthouse cat is called Bosun."),
    ("Which colours is the tower painted?", "Red and white stripes, repainted every spring."),
    ("What is the range of the light?", "On a clear night the light reaches 18 nautical miles."),
    ("What is Marlo's usual breakfast?", "Smoked mackerel on rye, with strong black tea."),
    ("When can people go up the tower?", "Visitors may climb on Sundays between ten and noon."),
    ("How does the foghorn sound?", "Two low blasts every thirty seconds when fog rolls in."),
    ("Who was the builder?", "The stonemason Ada Pennick built it in 1871."),
    ("What is stored downstairs?", "Spare lenses, lamp oil and forty jars of plum jam."),
]
TRAIN = "train.jsonl"
VALIDATION = "validation.jsonl"
CONFIG = "run.json"


def chat_jsonl(pairs: list[tuple[str, str]]) -> bytes:
    """Chat fine-tuning examples, one JSON object a line."""
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ]
            },
            ensure_ascii=False,
        )
        for question, answer in pairs
    ]
    return ("\n".join(lines) + "\n").encode()


def train_data() -> bytes:
    return chat_jsonl(TRAIN_PAIRS)


def validation_data() -> bytes:
    return chat_jsonl(VALIDATION_PAIRS)


def run_json(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


# -- the inbox guard --------------------------------------------------------------------------


@dataclass(frozen=True)
class BlobVersion:
    etag: str
    md5: str

    @classmethod
    def of(cls, etag: object, md5: bytes) -> BlobVersion:
        # Upload answers quote the ETag and listings do not: compare them bare.
        return cls(str(etag).strip('"'), md5.hex())


@dataclass
class Drops:
    """Drops files into inboxes and remembers each blob's last dropped version, so that
    `check_untouched` can prove the pipeline changed, deleted or added nothing there.

    The one inbox guard of the e2e tests: every `test_faults_*` and `test_pipeline_*` test drops
    through the `drops` fixture (tests/e2e/conftest.py), which checks the inbox after the test."""

    inboxes: dict[str, ContainerClient] = field(default_factory=dict)
    dropped: dict[tuple[str, str], BlobVersion] = field(default_factory=dict)

    def drop(self, stack: Stack, run: str, filename: str, data: bytes, **options: Any) -> str:
        """Uploads `run/filename` (replacing an earlier version; `options` go to `upload_blob`,
        e.g. `standard_blob_tier`); returns the blob's ETag."""
        inbox = stack.inbox
        self.inboxes[inbox.container_name] = inbox
        blob = inbox.get_blob_client(f"{run}/{filename}")
        answer = blob.upload_blob(data, overwrite=True, **options)
        md5 = bytes(answer["content_md5"])
        assert md5 == hashlib.md5(data).digest(), "the storage did not keep what was sent"
        self.dropped[(inbox.container_name, f"{run}/{filename}")] = BlobVersion.of(
            answer["etag"], md5
        )
        return str(answer["etag"])

    def drop_run(
        self, stack: Stack, run: str, *, validation: bool = True, config: bytes | None = None
    ) -> None:
        """Drops a whole run at once: run.json (if any), train.jsonl and validation.jsonl."""
        if config is not None:
            self.drop(stack, run, CONFIG, config)
        self.drop(stack, run, TRAIN, train_data())
        if validation:
            self.drop(stack, run, VALIDATION, validation_data())

    def drop_sample(self, stack: Stack, run: str, *, validation: bool = True) -> dict[str, str]:
        """Drops the shipped sample run (train, and validation unless told not to); returns
        each blob's ETag by name."""
        kinds = [TRAIN, VALIDATION] if validation else [TRAIN]
        return {
            f"{run}/{kind}": self.drop(stack, run, kind, (SAMPLE / kind).read_bytes())
            for kind in kinds
        }

    def current(self) -> dict[tuple[str, str], BlobVersion]:
        found = {}
        for name, inbox in self.inboxes.items():
            for blob in inbox.list_blobs():
                md5 = bytes(blob.content_settings.content_md5 or b"")
                found[(name, blob.name)] = BlobVersion.of(blob.etag, md5)
        return found

    def check_untouched(self) -> None:
        """Every blob dropped is there with the ETag and MD5 it was dropped with; no others."""
        now = self.current()
        changed = sorted(
            f"{container}/{name}: dropped {version}, now {now.get((container, name))}"
            for (container, name), version in self.dropped.items()
            if now.get((container, name)) != version
        )
        added = sorted(f"{c}/{n}" for c, n in now.keys() - self.dropped.keys())
        assert not changed and not added, f"inbox changed: {changed}; blobs added: {added}"


@contextmanager
def guarded_inbox(emulator: Emulator) -> Iterator[Drops]:
    """Yields `Drops`; afterwards disarms any fault the test left and checks the inbox."""
    drops = Drops()
    try:
        yield drops
    finally:
        emulator.clear_faults()
    drops.check_untouched()


# -- following a run --------------------------------------------------------------------------


def get_run(stack: Stack, run: str) -> dict[str, Any]:
    status, body, _ = stack.call("GET", f"/api/runs/{run}")
    assert status == 200, body
    return body


def wait_until(
    stack: Stack, run: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    """Polls the run's view until `done(view)`."""
    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        status, body, _ = stack.call("GET", f"/api/runs/{run}")
        if status == 200 and done(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"run {run} never got there: {json.dumps(body, ensure_ascii=False)}")


def states_of(view: dict[str, Any]) -> list[str]:
    """The states a run went through, in order (notes within a state left out)."""
    return [entry["to"] for entry in view["timeline"] if entry["from"] != entry["to"]]


def timeline_text(view: dict[str, Any]) -> str:
    return "\n".join(entry["reason"] for entry in view["timeline"])


def entered_at(view: dict[str, Any], state: str) -> str:
    return next(e["at"] for e in view["timeline"] if e["to"] == state and e["from"] != state)


# -- what a run cost in the emulator ----------------------------------------------------------


class Ledger:
    """Counts emulator calls made since it was opened, and the files, jobs and deployments
    that belong to a run, through the same public APIs a user would look at."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.since = time.time()
        self._openai: openai.AzureOpenAI = openai_client(emulator)

    def calls(self, method: str, path_contains: str, status: int | None = None) -> int:
        """Requests since the ledger opened with this method and path (and answer status)."""
        return len(self.records(method, path_contains, status))

    def records(
        self, method: str, path_contains: str, status: int | None = None
    ) -> list[RequestRecord]:
        return [
            record
            for record in self.emulator.requests()
            if record.time >= self.since
            and record.method == method
            and path_contains in record.path
            and (status is None or record.status == status)
        ]

    def files(self, run: str) -> list[Any]:
        """Files uploaded to Azure OpenAI for this run (Tunedrop names them `<run>--...`)."""
        return [f for f in self._openai.files.list() if f.filename.startswith(f"{run}--")]

    def jobs(self, run: str) -> list[Any]:
        """Fine-tuning jobs trained on any file uploaded for this run."""
        ids = {f.id for f in self.files(run)}
        return [
            job for job in self._openai.fine_tuning.jobs.list(limit=100) if job.training_file in ids
        ]

    def deployment(self, name: str) -> Any | None:
        """The ARM deployment called `name`, or None once it is gone."""
        arm = arm_client(self.emulator)
        listed = arm.deployments.list(self.emulator.resource_group, self.emulator.account_name)
        return next((item for item in listed if item.name == name), None)


def ask(stack: Stack, run: str, question: str) -> dict[str, Any]:
    """Chats with a run's deployment through the API."""
    status, answer, _ = stack.call("POST", f"/api/runs/{run}/chat", {"message": question})
    assert status == 200, answer
    return answer
