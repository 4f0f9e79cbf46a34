"""POST /api/validate: the validation report of a JSONL body, before anything is uploaded."""

import azure.functions as func

from functions.http_answers import error_answer, json_answer
from shared.bootstrap import settings
from shared.errors import TunedropError
from shared.validate_upload import validate_upload

bp = func.Blueprint()


@bp.route(route="validate", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def validate(req: func.HttpRequest) -> func.HttpResponse:
    try:
        current = settings()
        report = validate_upload(
            req.get_body(),
            req.params,
            default_model=current.default_model,
            max_bytes=current.max_request_bytes,
        )
    except TunedropError as error:
        return error_answer(error)
    return json_answer(report, status=200)
