"""Chat completions on a deployment: generic from a base model, learned answers when tuned.

What each model says is decided in `grader` (pure). Structured output (`response_format` of
type `json_schema`) is checked as the service checks it; a base deployment answers Tunedrop's
grader schemas (paraphrases, judgement) as a grader would, and any other schema with its
smallest valid instance. When the timings enforce rate limits, a deployment answers at most
`capacity` requests per 10 seconds (the limit its ARM resource advertises) and then 429 with
Retry-After, as a capacity-1 deployment does.
"""

from __future__ import annotations

import json
import math
import uuid
from functools import partial
from typing import Any

from localdev.emulator.arm import live_deployment
from localdev.emulator.datasets import TOKENS_PER_MESSAGE, TOKENS_PER_REPLY, message_text
from localdev.emulator.grader import base_reply, grade
from localdev.emulator.matching import recall
from localdev.emulator.store import State
from localdev.emulator.structured import checked_response_format, minimal_instance
from localdev.emulator.wire import ApiError, Request, Response, Router, json_response
from shared.tokens import o200k

NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment "
    "within the last 5 minutes, please wait a moment and try again."
)
NOT_READY = (
    "The API deployment for this resource is not ready yet. It was created recently; "
    "please wait a moment and try again."
)


def register(router: Router, state: State) -> None:
    path = "/openai/deployments/{deployment}/chat/completions"
    router.add("POST", path, partial(chat_completions, state))


def chat_completions(state: State, request: Request, params: dict[str, str]) -> Response:
    deployment = live_deployment(state, params["deployment"])
    now = state.now()
    if deployment is None or deployment.provisioning_state(now) != "Succeeded":
        raise ApiError(404, "DeploymentNotFound", NOT_FOUND)
    if now < deployment.ready_at:
        raise ApiError(404, "DeploymentNotReady", NOT_READY)
    body = request.json()
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "BadRequest", "'messages' must be a non-empty array.")
    if body.get("stream"):
        raise ApiError(400, "BadRequest", "The emulator does not stream; send stream=false.")
    response_format = checked_response_format(body.get("response_format"))
    _rate_limit(state, deployment.name, deployment.capacity, now)
    deployment.last_used_at = now
    question = next(
        (message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"),
        "",
    )
    if response_format is not None:
        name, schema = response_format
        graded = grade(name, question) if state.catalog.base_model(deployment.serves) else None
        reply = graded if graded is not None else json.dumps(minimal_instance(schema))
    else:
        reply = _reply(state, deployment.serves, deployment.name, question)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    tokens = o200k().encode_ordinary(reply)
    finish = "stop"
    if isinstance(limit, int) and 0 < limit < len(tokens):
        tokens, finish = tokens[:limit], "length"
        reply = o200k().decode(tokens)
    prompt_tokens = TOKENS_PER_REPLY + sum(_message_tokens(m) for m in messages)
    return json_response(
        200,
        {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(now),
            "model": deployment.serves,
            "system_fingerprint": "fp_emulator",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish,
                    "logprobs": None,
                    "message": {"role": "assistant", "content": reply, "refusal": None},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(tokens),
                "total_tokens": prompt_tokens + len(tokens),
            },
        },
    )


def _reply(state: State, model_id: str, deployment: str, question: str) -> str:
    if state.catalog.base_model(model_id) is not None:
        return base_reply(model_id, deployment, question)
    with state.lock:
        examples = state.trained[model_id].examples
    return recall(question, [(e.user, e.assistant) for e in examples])


RATE_WINDOW_SECONDS = 10.0


def _rate_limit(state: State, deployment: str, capacity: int, now: float) -> None:
    """Refuses a request past `capacity` requests in the last 10 s when limits are enforced."""
    if not state.timings.enforce_rate_limits:
        return
    with state.lock:
        recent = [t for t in state.chat_calls.get(deployment, []) if now - t < RATE_WINDOW_SECONDS]
        if len(recent) >= max(1, capacity):
            wait = max(1, math.ceil(RATE_WINDOW_SECONDS - (now - recent[0])))
            state.chat_calls[deployment] = recent
            raise ApiError(
                429,
                "429",
                "Requests to the ChatCompletions_Create Operation under Azure OpenAI API have "
                "exceeded call rate limit of your current pricing tier. Please retry after "
                f"{wait} seconds.",
                {"Retry-After": str(wait)},
            )
        state.chat_calls[deployment] = [*recent, now]


def _message_tokens(message: Any) -> int:
    if not isinstance(message, dict):
        return TOKENS_PER_MESSAGE
    text = message_text(message.get("content"))
    name_tokens = 1 if message.get("name") else 0
    return TOKENS_PER_MESSAGE + len(o200k().encode_ordinary(text)) + name_tokens
