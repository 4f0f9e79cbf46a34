"""GET /api/health: the app's version and whether storage and Azure OpenAI answer."""

import azure.functions as func

from functions.http_answers import json_answer
from shared.health_probes import app_health

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    report = app_health()
    return json_answer(report.to_dict(), status=200 if report.healthy else 503)
