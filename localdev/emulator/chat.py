"""Chat completions on a deployment: generic from a base model, learned answers when tuned."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from localdev.emulator import catalog
from localdev.emulator.arm import live_deployment
from localdev.emulator.datasets import TOKENS_PER_MESSAGE, TOKENS_PER_REPLY, message_text
from localdev.emulator.matching import closest_index
from localdev.emulator.store import State
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
    question = next(
        (message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"),
        "",
    )
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
    if catalog.base_model(model_id) is not None:
        return (
            f"Hello! I am {model_id}, the base model behind the deployment '{deployment}'. "
            "I have not been fine-tuned, so I can only give you a general answer."
        )
    with state.lock:
        examples = state.trained[model_id].examples
    return examples[closest_index(question, [e.user for e in examples])].assistant


def _message_tokens(message: Any) -> int:
    if not isinstance(message, dict):
        return TOKENS_PER_MESSAGE
    text = message_text(message.get("content"))
    name_tokens = 1 if message.get("name") else 0
    return TOKENS_PER_MESSAGE + len(o200k().encode_ordinary(text)) + name_tokens
