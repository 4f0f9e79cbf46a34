"""GET /api/openapi.json: the OpenAPI 3.1 document of the whole HTTP API (no key needed)."""

from urllib.parse import urlsplit

import azure.functions as func

from functions.http_answers import json_answer
from shared.api.openapi import API_PREFIX, openapi_document

bp = func.Blueprint()


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    parts = urlsplit(req.url)
    server = f"{parts.scheme}://{parts.netloc}{API_PREFIX}" if parts.netloc else API_PREFIX
    return json_answer(openapi_document(server))
