"""The run for people (function key): `GET /api/runs/{run}/view`, one HTML page, and
`GET /api/runs/{run}/loss.svg`, the loss chart.

The page is self-contained (no external assets) and calls the chat endpoint with the function
key it was opened with: `/api/runs/<run>/view?code=<function key>`.
"""

import secrets

import azure.functions as func

from functions.http_answers import answers_problems
from shared import pipeline
from shared.api.links import reports_container_url
from shared.api.requests import run_name_from_route
from shared.api.views import epoch_steps, run_view
from shared.bootstrap import notifier, services, settings
from shared.evaluation.commands import evaluation_report
from shared.evaluation.page import evaluation_html
from shared.improvement.page import lineage_html
from shared.improvement.records import lineage_view
from shared.notifications.service import run_events
from shared.render import content_security_policy, loss_chart_svg, run_page_html
from shared.runs.record import Run

bp = func.Blueprint()

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the page URL carries the function key
    "Cache-Control": "no-store",
}


@bp.route(route="runs/{run}/loss.svg", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def loss_chart(req: func.HttpRequest) -> func.HttpResponse:
    _, svg = _run_and_chart(req, titled=True)
    return func.HttpResponse(
        svg,
        status_code=200,
        mimetype="image/svg+xml",
        charset="utf-8",
        headers={**COMMON_HEADERS, "Content-Security-Policy": SVG_POLICY},
    )


@bp.route(route="runs/{run}/view", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def run_page(req: func.HttpRequest) -> func.HttpResponse:
    run, chart = _run_and_chart(req, titled=False)
    nonce = secrets.token_urlsafe(16)
    view = run_view(run, reports_url=reports_container_url(settings()))
    view["events"] = run_events(notifier(), run.name)
    evaluation = evaluation_html(view.get("evaluation"), evaluation_report(services(), run))
    evaluation += lineage_html(lineage_view(services(), run))
    page = run_page_html(view, chart_svg=chart, nonce=nonce, evaluation_html=evaluation)
    return func.HttpResponse(
        page,
        status_code=200,
        mimetype="text/html",
        charset="utf-8",
        headers={**COMMON_HEADERS, "Content-Security-Policy": content_security_policy(nonce)},
    )


def _run_and_chart(req: func.HttpRequest, *, titled: bool) -> tuple[Run, str]:
    """The run named by the route and its loss chart (SVG)."""
    app = services()
    run = pipeline.get_run(app.runs, run_name_from_route(req.route_params.get("run")))
    points = app.runs.points(run.name)
    title = {"title": f"{run.name}: loss"} if titled else {}
    return run, loss_chart_svg(points, epoch_steps=epoch_steps(points, run), **title)
