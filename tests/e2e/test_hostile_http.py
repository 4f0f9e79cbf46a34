"""Hostile HTTP input through the local host: path tricks, unicode and very long run names,
huge and empty bodies, wrong content types, forged continuation tokens, missing and wrong
function keys. Every answer is a 2xx, or a 4xx that says why; never a 5xx."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest

from shared.api.paging import encode_token
from tests.e2e.fault_helpers import SAMPLE, unique
from tests.e2e.fault_helpers import wait_for_state as wait_for
from tests.e2e.stack import FUNCTION_KEY, Stack
from tests.e2e.test_http_api import ENDPOINTS, header

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(module_stack: Stack) -> Stack:
    """Every test here only calls the API, or drops a run of its own name: one host for all."""
    return module_stack


# Route values as they appear in the URL (percent-encoded where a client must encode them).
HOSTILE_NAMES = [
    "..", ".", "%2E%2E", "a%2Fb", "a%2F..%2F..%2Fhealth", "a%5Cb", "a\\b", "%5C..%5C",
    "%E3%83%9F%E3%83%8A%E3%83%88", "%ED%A0%80", "%F0%9F%98%80", "%00", "%0A", "%25", "%",
    "a%20b", "CON", "Run", "-a", "a" * 64, "a" * 8000, "%C3%A9", "e%CC%81",
]  # fmt: skip


def assert_answers_with_a_reason(answer: tuple[int, Any, dict[str, str]], where: str) -> int:
    """A 2xx, a bodiless 404/405 from the host's router, or a problem+json with a detail."""
    status, body, headers = answer
    assert status < 500, (where, status, body)
    if status >= 400 and body:
        assert header(headers, "Content-Type").startswith("application/problem+json"), where
        assert body["status"] == status and body["detail"].strip(), (where, body)
    elif status >= 400:
        assert status in (404, 405), (where, status)
    return status


def test_run_names_with_path_tricks_unicode_and_great_length_get_4xx_never_5xx(
    stack: Stack,
) -> None:
    for name in HOSTILE_NAMES:
        for method, path in ENDPOINTS[1:]:
            url = path.replace("any-run", name)
            body = {"message": "hi"} if path.endswith("/chat") else None
            status = assert_answers_with_a_reason(stack.call(method, url, body), url[:80])
            assert status >= 400, url[:80]
    # Nothing a name can do reaches another route: `a/../../health` is not the health check.
    status, body, _ = stack.call("GET", "/api/runs/a%2F..%2F..%2Fhealth")
    assert status == 400 and "run name" in body["detail"]
    log = stack.host.log()
    assert "Traceback" not in log, log[-3000:]


def test_empty_huge_and_odd_bodies_get_a_report_or_a_4xx(stack: Stack) -> None:
    status, report, _ = stack.call("POST", "/api/validate", raw=b"")
    assert status == 200 and report["valid"] is False
    assert [error["code"] for error in report["errors"]] == ["empty_file"]
    limit = int(stack.environ["MAX_REQUEST_BYTES"])
    status, problem, _ = stack.call("POST", "/api/validate", raw=b"\n" * (limit + 1))
    assert status == 413 and f"at most {limit}" in problem["detail"]
    status, problem, _ = stack.call("POST", "/api/runs/any-run/chat", raw=b" " * (limit + 1))
    assert status == 413 and "MAX_REQUEST_BYTES" in problem["detail"]
    status, report, _ = stack.call("POST", "/api/validate", raw=bytes(range(256)) * 64)
    assert status == 200 and report["valid"] is False
    for raw in (b"\xff\xfe{}", b"[" * 100_000, b'{"message": ' + b"9" * 5000 + b"}",
                b'{"message": "\\udc00"}', b"null", b'"text"', b"{}" * 3):  # fmt: skip
        answer = stack.call("POST", "/api/runs/any-run/chat", raw=raw)
        assert assert_answers_with_a_reason(answer, repr(raw[:20])) == 400


CONTENT_TYPES = [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=z",
    "application/octet-stream", "application/json; charset=latin-1", "", "image/png",
]  # fmt: skip


def test_the_content_type_header_does_not_change_the_answer(stack: Stack) -> None:
    train = (SAMPLE / "train.jsonl").read_bytes()
    for content_type in CONTENT_TYPES:
        headers = {"Content-Type": content_type}
        status, report, _ = stack.call("POST", "/api/validate", raw=train, headers=headers)
        assert status == 200 and report["valid"] is True, content_type
        assert report["stats"]["files"]["train.jsonl"]["examples"] > 0
        chat = stack.call("POST", "/api/runs/nobody/chat", {"message": "hi"}, headers=headers)
        assert chat[0] == 404 and chat[1]["detail"] == "there is no run named 'nobody'."


WRONG_KEYS = [None, "", "wrong-key", FUNCTION_KEY.upper(), FUNCTION_KEY + " ", " " + FUNCTION_KEY,
              FUNCTION_KEY[:-1], FUNCTION_KEY + "x", "clé-ñ"]  # fmt: skip


def test_missing_or_wrong_function_keys_are_refused_on_every_keyed_endpoint(stack: Stack) -> None:
    for key in WRONG_KEYS:
        for method, path in [("POST", "/api/validate"), *ENDPOINTS]:
            if key is None or key.strip() == key:  # HTTP trims the spaces around a header value
                assert stack.call(method, path, {}, key=key)[0] == 401, (path, key)
            in_query = f"{path}?code={quote(key or '', safe='')}"
            assert stack.call(method, in_query, {}, key=None)[0] == 401, (in_query, key)


def test_the_right_key_works_in_the_header_or_the_code_query(stack: Stack) -> None:
    assert stack.call("GET", "/api/runs")[0] == 200
    assert stack.call("GET", f"/api/runs?code={FUNCTION_KEY}", key=None)[0] == 200
    assert stack.call("GET", f"/api/runs/nobody?code={FUNCTION_KEY}", key=None)[0] == 404


def wrapped_token(store_token: object) -> str:
    """A listing token in the API's own envelope around a forged store continuation."""
    inner = base64.urlsafe_b64encode(json.dumps(store_token).encode()).decode()
    return encode_token(inner, None) or ""


def test_forged_store_tokens_in_a_valid_envelope_get_a_400_or_a_page(stack: Stack) -> None:
    forged = [[], None, {"a": 1}, {"PartitionKey": "runs", "RowKey": "zzz"},
              {"PartitionKey": None, "RowKey": ["x"]}, {"PartitionKey": "a'b", "RowKey": "'"},
              {"PartitionKey": "x" * 3000, "RowKey": "y"}]  # fmt: skip
    for store_token in forged:
        answer = stack.call("GET", f"/api/runs?continuation={wrapped_token(store_token)}")
        assert assert_answers_with_a_reason(answer, repr(store_token)[:60]) in (200, 400)


def test_forged_store_tokens_that_are_not_objects_get_a_400(stack: Stack) -> None:
    for store_token in (5, "text"):
        answer = stack.call("GET", f"/api/runs?continuation={wrapped_token(store_token)}")
        assert assert_answers_with_a_reason(answer, repr(store_token)) == 400


def test_continuation_tokens_that_are_not_ours_get_a_400(stack: Stack) -> None:
    for token in ("%00", "a" * 5000, "%FF%FE", "e30", "W10", "eyJ2IjoxLCJuZXh0IjoiXHVkODAwIn0"):
        answer = stack.call("GET", f"/api/runs?continuation={token}")
        assert assert_answers_with_a_reason(answer, token[:40]) == 400, token


def test_hostile_chat_bodies_to_a_deployed_run_get_a_reply_or_a_4xx(stack: Stack) -> None:
    run = unique("chatty")
    stack.inbox.upload_blob(f"{run}/train.jsonl", (SAMPLE / "train.jsonl").read_bytes())
    stack.inbox.upload_blob(f"{run}/validation.jsonl", (SAMPLE / "validation.jsonl").read_bytes())
    wait_for(stack, run, "deployed")
    long_text = "狐" * 20_000
    bodies: list[Any] = [
        {"message": "\x00\u202e\ufeff\u200b 😀 e\u0301"},
        {"message": long_text},
        {"messages": [{"role": "user", "content": "x" * 50}] * 100},
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]},
        {"message": "hi", "max_tokens": 10**18, "compare": True},
        {"message": "hi", "max_tokens": 1},
        {"messages": [{"role": "user", "content": "<script>alert(1)</script>"}]},
    ]
    for body in bodies:
        status, answer, _ = stack.call("POST", f"/api/runs/{run}/chat", body)
        assert status == 200 or (400 <= status < 500 and answer["detail"]), (str(body)[:80], answer)
        if status == 200:
            assert isinstance(answer["reply"], str)
