"""Improving a run (function key): `POST /api/runs/{run}/improve`.

Writes the child run's augmented files to the reports container (200, the child's entry); with
`{"start": true}` also drops them into the inbox as a new run (202, with the child's Location).
A child over the cost cap is refused with 409, its files written and the way to start it named.
"""

from urllib.parse import urlsplit

import azure.functions as func

from functions.http_answers import answers_problems, json_answer
from shared.api.requests import read_json_object, run_name_from_route
from shared.api.views import run_links
from shared.bootstrap import services, settings
from shared.errors import Conflict
from shared.improvement import service as improvement
from shared.improvement.requests import parse_improve_request

bp = func.Blueprint()


@bp.route(route="runs/{run}/improve", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def improve_run(req: func.HttpRequest) -> func.HttpResponse:
    app = services()
    if app.improvement is None:
        raise Conflict("improving runs is not configured on this app.")
    name = run_name_from_route(req.route_params.get("run"))
    body = read_json_object(req.get_body(), settings().max_request_bytes, required=False)
    asked = parse_improve_request(body)
    entry = improvement.improve_run(
        app, app.improvement, name, app.clock(), start=asked.start, max_usd=asked.max_usd
    )
    if entry["status"] != "started":
        return json_answer({"improvement": entry})
    parts = urlsplit(req.url)
    location = f"{parts.scheme}://{parts.netloc}{run_links(entry['run'])['self']}"
    return json_answer({"improvement": entry}, status=202, headers={"Location": location})
