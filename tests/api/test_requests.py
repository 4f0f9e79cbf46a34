"""Reading HTTP requests: bodies under the cap, run names without path tricks, listing queries."""

import re

import pytest

from shared.api.paging import decode_token, encode_token
from shared.api.requests import (
    parse_deploy_request,
    parse_list_query,
    read_json_object,
    run_name_from_route,
)
from shared.errors import InvalidInput, PayloadTooLarge
from shared.runs.states import RunState


def test_a_valid_run_name_from_the_route_is_returned_as_is() -> None:
    assert run_name_from_route("support-bot-v2") == "support-bot-v2"


@pytest.mark.parametrize(
    "value",
    ["..", ".", "a/../b", "a/b", "%2F", "a\\b", "ミナト", "café", "Run", "-run", "run-", "", None,
     "a" * 64, "run name", "run\x00"],
)  # fmt: skip
def test_path_tricks_and_other_bad_run_names_are_refused_with_the_rule(value: str | None) -> None:
    with pytest.raises(InvalidInput, match="run name"):
        run_name_from_route(value)


def test_body_over_the_cap_is_refused_as_too_large_naming_the_setting() -> None:
    with pytest.raises(
        PayloadTooLarge, match=re.escape("11 bytes; the limit is 10 bytes (MAX_REQUEST_BYTES)")
    ):
        read_json_object(b'{"a": "bc"}', 10)


def test_body_at_the_cap_is_read() -> None:
    assert read_json_object(b'{"a": "b"}', 10) == {"a": "b"}


def test_empty_body_is_an_empty_object_when_optional_and_an_error_when_required() -> None:
    assert read_json_object(b"", 100, required=False) == {}
    with pytest.raises(InvalidInput, match="the request body is empty; send a JSON object"):
        read_json_object(b"  ", 100)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "the request body is not valid JSON: Expecting property name"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'"text"', "must be a JSON object, not a string"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused_saying_why(
    body: bytes, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_json_object(body, 10**6)


def test_list_query_reads_state_page_size_and_continuation_and_ignores_the_key() -> None:
    query = parse_list_query(
        {"state": "deployed", "page_size": "5", "continuation": "t", "code": "k"}
    )
    assert (query.state, query.page_size, query.continuation) == (RunState.DEPLOYED, 5, "t")
    assert parse_list_query({}).page_size == 50


def test_only_an_absent_or_empty_continuation_means_the_first_page() -> None:
    assert parse_list_query({"continuation": ""}).continuation is None
    # Whitespace is no token: it goes on to the token check, which refuses it (400).
    assert parse_list_query({"continuation": " "}).continuation == " "


def test_list_query_names_every_bad_parameter() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_list_query({"state": "done", "page_size": "500"})
    message = str(caught.value)
    assert "query \"state\": 'done' is not a run state (one of waiting_for_files" in message
    assert "query \"page_size\": '500' must be a whole number from 1 to 100" in message


def test_deploy_request_accepts_the_four_options_and_refuses_others() -> None:
    assert parse_deploy_request({"name": "x1", "ttl_hours": 2}) == {"name": "x1", "ttl_hours": 2}
    with pytest.raises(
        InvalidInput, match=re.escape('unknown field(s) "model" (allowed: name, sku')
    ):
        parse_deploy_request({"model": "gpt-4o"})


def test_continuation_token_round_trips_with_its_state_filter() -> None:
    token = encode_token("store-token", RunState.FAILED)
    assert token is not None and "store-token" not in token
    assert decode_token(token, None) == ("store-token", RunState.FAILED)
    assert decode_token(token, RunState.FAILED) == ("store-token", RunState.FAILED)
    assert encode_token(None, None) is None


def test_continuation_token_from_another_filter_or_made_up_is_refused() -> None:
    token = encode_token("store-token", None)
    assert token is not None
    with pytest.raises(InvalidInput, match="belongs to a listing of all states, not of state"):
        decode_token(token, RunState.DEPLOYED)
    for forged in ("nonsense", "eyJ2IjogMn0", "💥", "x" * 5000):
        with pytest.raises(InvalidInput, match="is not a token this API gave out"):
            decode_token(forged, None)
