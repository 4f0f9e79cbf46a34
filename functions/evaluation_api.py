"""The evaluation of a deployed run (function key): ask for a new one, read the report.

`POST /api/runs/{run}/evaluate` records the request (202); the timer carries it out.
`GET /api/runs/{run}/evaluation` answers the whole report, item by item.
"""

from urllib.parse import urlsplit

import azure.functions as func

from functions.http_answers import answers_problems, json_answer
from shared import pipeline
from shared.api.links import reports_container_url
from shared.api.requests import read_json_object, run_name_from_route
from shared.api.views import run_links, run_view
from shared.bootstrap import services, settings
from shared.evaluation.commands import read_report, request_evaluation
from shared.improvement.records import lineage_view

bp = func.Blueprint()


@bp.route(route="runs/{run}/evaluate", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def evaluate_run(req: func.HttpRequest) -> func.HttpResponse:
    app = services()
    name = run_name_from_route(req.route_params.get("run"))
    read_json_object(req.get_body(), settings().max_request_bytes, required=False)
    run = request_evaluation(app, name, app.clock())
    parts = urlsplit(req.url)
    location = f"{parts.scheme}://{parts.netloc}{run_links(run.name)['evaluation']}"
    view = run_view(run, reports_url=reports_container_url(settings()))
    return json_answer(view, status=202, headers={"Location": location})


@bp.route(route="runs/{run}/evaluation", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def get_evaluation(req: func.HttpRequest) -> func.HttpResponse:
    app = services()
    run = pipeline.get_run(app.runs, run_name_from_route(req.route_params.get("run")))
    report = read_report(app, run)
    report["lineage"] = lineage_view(app, run)
    return json_answer(report)
