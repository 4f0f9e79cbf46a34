"""The runs API (`/api/runs...`, function key): follow, deploy, tear down, cancel and chat.

Each function parses the request, makes one call into `shared.pipeline`, and answers JSON, or a
problem document for a Tunedrop error (400, 404, 409, 413, 502, 503). Deploy and tear-down only
record the request; the timer carries it out exactly once and the run shows its progress.
"""

from urllib.parse import urlsplit

import azure.functions as func

from functions.http_answers import answers_problems, json_answer
from shared import pipeline
from shared.api.chat import chat_answer_view, parse_chat_request
from shared.api.links import reports_container_url
from shared.api.listing import runs_listing
from shared.api.requests import (
    parse_deploy_request,
    parse_list_query,
    read_json_object,
    run_name_from_route,
)
from shared.api.views import metrics_view, run_links, run_view
from shared.bootstrap import services, settings
from shared.errors import Conflict
from shared.improvement.records import lineage_view
from shared.runs.record import Run
from shared.runs.states import RunState

bp = func.Blueprint()


@bp.route(route="runs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    query = parse_list_query(req.params)
    return json_answer(runs_listing(services().runs, query))


@bp.route(route="runs/{run}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def get_run(req: func.HttpRequest) -> func.HttpResponse:
    app = services()
    run = pipeline.get_run(app.runs, run_name_from_route(req.route_params.get("run")))
    view = run_view(run, reports_url=reports_container_url(settings()))
    view["lineage"] = lineage_view(app, run)
    return json_answer(view)


@bp.route(route="runs/{run}/metrics", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def get_run_metrics(req: func.HttpRequest) -> func.HttpResponse:
    app = services()
    run = pipeline.get_run(app.runs, run_name_from_route(req.route_params.get("run")))
    return json_answer(metrics_view(run, app.runs.points(run.name)))


@bp.route(route="runs/{run}/deploy", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def deploy_run(req: func.HttpRequest) -> func.HttpResponse:
    app = services()
    name = run_name_from_route(req.route_params.get("run"))
    body = read_json_object(req.get_body(), settings().max_request_bytes, required=False)
    options = parse_deploy_request(body)
    run = pipeline.request_deploy(app, name, app.clock(), options)
    return _accepted(req, run)


@bp.route(route="runs/{run}/deployment", methods=["DELETE"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def tear_down_deployment(req: func.HttpRequest) -> func.HttpResponse:
    app = services()
    name = run_name_from_route(req.route_params.get("run"))
    run = pipeline.get_run(app.runs, name)
    if run.deployment is None:
        raise Conflict(f"run {name!r} has no deployment to tear down; it is {run.state.value}.")
    run = pipeline.request_teardown(app, name, app.clock())
    return _accepted(req, run)


@bp.route(route="runs/{run}/cancel", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def cancel_run(req: func.HttpRequest) -> func.HttpResponse:
    app = services()
    name = run_name_from_route(req.route_params.get("run"))
    read_json_object(req.get_body(), settings().max_request_bytes, required=False)
    run = pipeline.cancel_run(app, name, app.clock())
    if run.state is RunState.CANCELLED:
        return json_answer(run_view(run, reports_url=reports_container_url(settings())))
    return _accepted(req, run)


@bp.route(route="runs/{run}/chat", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def chat_with_run(req: func.HttpRequest) -> func.HttpResponse:
    app = services()
    name = run_name_from_route(req.route_params.get("run"))
    body = read_json_object(req.get_body(), settings().max_request_bytes)
    chat = parse_chat_request(body, app.max_chat_tokens, settings().chat_max_input_tokens)
    answer = pipeline.chat(app, name, chat.messages, chat.max_tokens, chat.compare)
    return json_answer(chat_answer_view(answer, chat.compare))


def _accepted(req: func.HttpRequest, run: Run) -> func.HttpResponse:
    """202 with the run as it is now; Location is the run's URL, to follow the change."""
    parts = urlsplit(req.url)
    location = f"{parts.scheme}://{parts.netloc}{run_links(run.name)['self']}"
    view = run_view(run, reports_url=reports_container_url(settings()))
    return json_answer(view, status=202, headers={"Location": location})
