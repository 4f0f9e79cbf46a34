"""Chat against oversized input: a request under the byte cap but far over any sensible prompt
(a 4 MB system message) is refused with 413 and its o200k count before a model is called;
the limit is `CHAT_MAX_INPUT_TOKENS`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions import runs_api
from shared.bootstrap import use_services
from shared.pipeline.services import Services
from shared.settings import Settings
from shared.tokens import count_tokens
from tests.api.test_runs_functions import ENV, call, decoded, deployed
from tests.pipeline.fakes import fake_services

LIMITS = {**ENV, "MAX_REQUEST_BYTES": str(8 * 1024 * 1024), "CHAT_MAX_INPUT_TOKENS": "3000"}


@pytest.fixture
def app() -> Iterator[Services]:
    chosen = fake_services(settings=Settings.from_env(LIMITS))
    with use_services(chosen):
        deployed(chosen)
        yield chosen


def model_calls(app: Services) -> int:
    return sum(app.chat.calls.values())  # type: ignore[attr-defined]


def test_a_huge_system_message_is_413_with_its_token_count_and_reaches_no_model(
    app: Services,
) -> None:
    system = "You are a helpful assistant. " * 140_000  # about 4 MB
    body = {"messages": [{"role": "system", "content": system},
                         {"role": "user", "content": "hi"}], "compare": True}  # fmt: skip
    before = model_calls(app)
    response = call(runs_api.chat_with_run, "POST", "/x", body, run="minato")
    assert response.status_code == 413
    tokens = count_tokens(system) + count_tokens("hi")
    assert decoded(response)["detail"] == (
        f"the chat messages hold {tokens:,} tokens (o200k); the limit is 3,000 "
        "(CHAT_MAX_INPUT_TOKENS)"
    )
    assert model_calls(app) == before


def test_a_request_just_within_the_token_limit_is_answered(app: Services) -> None:
    text = "hello " * 2990
    assert count_tokens(text) <= 3000
    response = call(runs_api.chat_with_run, "POST", "/x", {"message": text}, run="minato")
    assert response.status_code == 200, decoded(response)
    over = call(runs_api.chat_with_run, "POST", "/x", {"message": text * 2}, run="minato")
    assert over.status_code == 413
