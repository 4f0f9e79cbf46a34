"""Every path of the HTTP API with its operations, one entry per registered route.

To document a new route, add an entry to `PATHS` (a path under `/api`, without the prefix, as
the function's `route=` reads) with one operation per method; `tests/api/test_openapi.py` fails
until every route `function_app.app` registers is here, and nothing else is.
"""

from __future__ import annotations

from typing import Any

from shared.api.openapi.schemas import EVENT_ID_PATTERN, RUN_NAME_PATTERN, ref
from shared.models import BASE_MODELS
from shared.runs.states import RunState

Operation = dict[str, Any]

PROBLEMS = {
    400: "Bad run name, query parameter, JSON body or field; `detail` names each",
    404: "No run (or event, or webhook endpoint) of that name",
    409: "The run's state does not allow the call; `detail` names the state",
    413: "The body is larger than MAX_REQUEST_BYTES",
    502: "Azure OpenAI or ARM refused the call",
    503: "A setting is wrong, or a service is busy (`Retry-After` when it named a delay)",
}

RUN: dict[str, Any] = {
    "name": "run",
    "in": "path",
    "required": True,
    "description": "The run name: its inbox folder",
    "schema": {"type": "string", "pattern": RUN_NAME_PATTERN},
    "example": "kitsune",
}
EVENT_ID: dict[str, Any] = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The event id (`evt_` and 32 hex digits)",
    "schema": {"type": "string", "pattern": EVENT_ID_PATTERN},
}


ENDPOINT: dict[str, Any] = {
    "name": "endpoint",
    "in": "path",
    "required": True,
    "description": "A webhook endpoint's name, as in WEBHOOKS",
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,39}$"},
}


def with_problem(result: Operation, status: int, description: str) -> Operation:
    """`result` with its problem answer `status` described for this operation alone."""
    problem = {"application/problem+json": {"schema": ref("Problem")}}
    result["responses"][str(status)] = {"description": description, "content": problem}
    return result


def json_body(schema: dict[str, Any], status: int = 200, description: str = "OK") -> Operation:
    return {
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
    }


def operation(
    operation_id: str,
    summary: str,
    answers: Operation,
    problems: tuple[int, ...] = (400, 404),
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    anonymous: bool = False,
) -> Operation:
    """One operation: its answers, its problem answers (each `application/problem+json`) and,
    unless anonymous, 401 for a missing or wrong function key."""
    responses = dict(answers)
    for status in sorted({*problems, 503}):
        responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    result: Operation = {"operationId": operation_id, "summary": summary, "responses": responses}
    if not anonymous:
        responses["401"] = {"$ref": "#/components/responses/Unauthorized"}
    else:
        result["security"] = []
    if parameters:
        result["parameters"] = parameters
    if body is not None:
        result["requestBody"] = body
    return result


def optional_json(schema_name: str) -> dict[str, Any]:
    return {"required": False, "content": {"application/json": {"schema": ref(schema_name)}}}


RUN_202 = {
    "202": {
        "description": "Accepted: the run as it is now; the timer carries the request out",
        "headers": {"Location": {"schema": {"type": "string"}, "description": "The run's URL"}},
        "content": {"application/json": {"schema": ref("Run")}},
    }
}

PATHS: dict[str, dict[str, Operation]] = {
    "health": {
        "get": operation(
            "health",
            "Version, and whether storage and Azure OpenAI answer",
            {
                **json_body(ref("Health")),
                "503": {
                    "description": "A dependency is down",
                    "content": {"application/json": {"schema": ref("Health")}},
                },
            },
            problems=(),
            anonymous=True,
        )
    },
    "openapi.json": {
        "get": operation(
            "openapi",
            "This document",
            json_body(ref("OpenApiDocument")),
            problems=(),
            anonymous=True,
        )
    },
    "validate": {
        "post": operation(
            "validate",
            "The validation report of a JSONL body (status 200 valid or not)",
            json_body(ref("ValidationReport")),
            (400, 413),
            parameters=[
                {
                    "name": "model",
                    "in": "query",
                    "schema": {"type": "string", "maxLength": 200},
                    "description": "A model whose tokens Tunedrop counts exactly (o200k family; "
                    "default DEFAULT_MODEL); priced: " + ", ".join(sorted(BASE_MODELS)),
                },
                {
                    "name": "epochs",
                    "in": "query",
                    "schema": {"type": "string", "pattern": "^(|auto|[1-9]|[1-4][0-9]|50)$"},
                    "description": "1-50 or auto",
                },
            ],
            body={
                "required": False,
                "description": "JSONL, one chat example per line; no body is an empty file",
                "content": {
                    "application/x-ndjson": {"schema": {"type": "string"}},
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                },
            },
        )
    },
    "runs": {
        "get": operation(
            "list_runs",
            "Runs, newest first",
            json_body(ref("RunPage")),
            (400,),
            parameters=[
                {
                    "name": "state",
                    "in": "query",
                    "schema": {"type": "string", "enum": [s.value for s in RunState]},
                },
                {
                    "name": "page_size",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                },
                {
                    "name": "continuation",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "The `continuation` of the previous page, unchanged",
                },
            ],
        )
    },
    "runs/{run}": {
        "get": operation("get_run", "One run", json_body(ref("Run")), parameters=[RUN]),
    },
    "runs/{run}/metrics": {
        "get": operation(
            "get_run_metrics",
            "Per-step loss, epoch ends and the overfitting verdict",
            json_body(ref("Metrics")),
            parameters=[RUN],
        )
    },
    "runs/{run}/loss.svg": {
        "get": operation(
            "loss_chart",
            "The loss chart",
            {
                "200": {
                    "description": "SVG",
                    "content": {"image/svg+xml": {"schema": {"type": "string"}}},
                }
            },
            parameters=[RUN],
        )
    },
    "runs/{run}/view": {
        "get": operation(
            "run_page",
            "The run page for a person (HTML with a chat box)",
            {
                "200": {
                    "description": "HTML",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                }
            },
            parameters=[RUN],
        )
    },
    "runs/{run}/deploy": {
        "post": operation(
            "deploy_run",
            "Deploy (or redeploy) the run's fine-tuned model; idempotent",
            RUN_202,
            (400, 404, 409, 413),
            parameters=[RUN],
            body=optional_json("DeployRequest"),
        )
    },
    "runs/{run}/deployment": {
        "delete": operation(
            "tear_down_deployment",
            "Delete the run's deployment now; idempotent",
            RUN_202,
            (400, 404, 409),
            parameters=[RUN],
        )
    },
    "runs/{run}/cancel": {
        "post": operation(
            "cancel_run",
            "Cancel a run that has not finished training (the training done so far is billed; "
            "queue time and failed jobs are not)",
            {**json_body(ref("Run"), 200, "Cancelled at once"), **RUN_202},
            (400, 404, 409, 413),
            parameters=[RUN],
        )
    },
    "runs/{run}/chat": {
        "post": with_problem(
            operation(
                "chat_with_run",
                "Chat with the run's deployed model (optionally beside the base)",
                json_body(ref("ChatAnswer")),
                (400, 404, 409, 413, 502, 503),
                parameters=[RUN],
                body={
                    "required": True,
                    "content": {"application/json": {"schema": ref("ChatRequest")}},
                },
            ),
            413,
            "The body is larger than MAX_REQUEST_BYTES, or its messages hold more than "
            "CHAT_MAX_INPUT_TOKENS o200k tokens (`detail` gives the count and the limit)",
        )
    },
    "runs/{run}/evaluation": {
        "get": operation(
            "get_evaluation",
            "The evaluation report of the deployed model, item by item",
            json_body(ref("Evaluation")),
            parameters=[RUN],
        )
    },
    "runs/{run}/evaluate": {
        "post": operation(
            "evaluate_run",
            "Evaluate the deployed model again (the timer carries it out)",
            RUN_202,
            (400, 404, 409, 413),
            parameters=[RUN],
            body={
                "required": False,
                "description": "Ignored; a JSON object if sent",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
        )
    },
    "runs/{run}/events": {
        "get": operation(
            "list_run_events",
            "The run's events, each with its delivery to each endpoint",
            json_body(ref("RunEvents")),
            parameters=[RUN],
        )
    },
    "runs/{run}/events/{id}/redeliver": {
        "post": operation(
            "redeliver_run_event",
            "Send an event again to every endpoint that wants it",
            json_body(ref("RunEvent"), 202, "Accepted: queued again"),
            (400, 404, 409),
            parameters=[RUN, EVENT_ID],
        )
    },
    "webhooks/{endpoint}/enable": {
        "post": operation(
            "enable_webhook_endpoint",
            "Enable a webhook endpoint that a 410 Gone disabled (recorded with its time)",
            json_body(ref("EndpointEnabled")),
            parameters=[ENDPOINT],
        )
    },
    "runs/{run}/improve": {
        "post": operation(
            "improve_run",
            "Write new phrasings of the run's training questions as a child run; start it",
            {
                **json_body(ref("Improvement"), 200, "The child's files were written"),
                "202": {
                    "description": "The child run was dropped into the inbox",
                    "headers": {
                        "Location": {"schema": {"type": "string"}, "description": "The child"}
                    },
                    "content": {"application/json": {"schema": ref("Improvement")}},
                },
            },
            (400, 404, 409, 413, 502, 503),
            parameters=[RUN],
            body={
                "required": False,
                "content": {"application/json": {"schema": ref("ImproveRequest")}},
            },
        )
    },
}
