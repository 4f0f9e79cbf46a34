"""The chat body: messages or one message, compare, and max_tokens under the setting's cap."""

import pytest

from shared.api.chat import chat_answer_view, parse_chat_request
from shared.errors import InvalidInput
from shared.pipeline.commands import ChatAnswer


def test_one_message_becomes_a_user_message() -> None:
    request = parse_chat_request({"message": "灯台は何段？"}, 800)
    assert request.messages == ({"role": "user", "content": "灯台は何段？"},)
    assert (request.compare, request.max_tokens) == (False, None)


def test_a_conversation_is_kept_in_order_with_compare() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Who are you?"},
    ]
    request = parse_chat_request({"messages": messages, "compare": True}, 800)
    assert list(request.messages) == messages and request.compare is True


def test_max_tokens_above_the_setting_is_lowered_to_it() -> None:
    assert parse_chat_request({"message": "x", "max_tokens": 5000}, 800).max_tokens == 800
    assert parse_chat_request({"message": "x", "max_tokens": 10}, 800).max_tokens == 10


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'the body needs "messages" (a list) or "message" (a string)'),
        ({"message": ""}, '"message" must be a non-empty string'),
        ({"message": "a", "messages": []}, 'send either "messages" or "message", not both'),
        ({"messages": []}, '"messages" must be a non-empty list'),
        ({"messages": ["hi"]}, '"messages"[0] must be an object with role and content'),
        ({"messages": [{"role": "tool", "content": "x"}]}, '"messages"[0]: "role" must be one of'),
        ({"messages": [{"role": "user", "content": 3}]}, '"content" must be a non-empty string'),
        ({"messages": [{"role": "assistant", "content": "x"}]}, "the last message must come from"),
        ({"message": "x", "compare": "yes"}, '"compare" must be true or false'),
        ({"message": "x", "max_tokens": 0}, '"max_tokens" must be a whole number of at least 1'),
        ({"message": "x", "max_tokens": True}, '"max_tokens" must be a whole number'),
        ({"message": "x", "temperature": 2}, 'unknown field(s) "temperature"'),
    ],
)
def test_bad_chat_bodies_are_refused_naming_the_field(body: dict, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_chat_request(body, 800)
    assert message in str(caught.value)


def test_answer_has_the_base_reply_only_when_compare_was_asked() -> None:
    answer = ChatAnswer("はい", "ft-model", "tunedrop-x", {"total_tokens": 5}, "Yes", "base")
    plain = chat_answer_view(answer, compare=False)
    assert plain == {
        "reply": "はい", "model": "ft-model", "deployment": "tunedrop-x",
        "usage": {"total_tokens": 5},
    }  # fmt: skip
    compared = chat_answer_view(answer, compare=True)
    assert (compared["base_reply"], compared["base_model"]) == ("Yes", "base")
