"""POST /api/validate: the validation report of a JSONL body, before anything is uploaded."""

import azure.functions as func

from functions.http_answers import answers_problems, json_answer
from shared.bootstrap import settings
from shared.validate_upload import validate_upload

bp = func.Blueprint()


@bp.route(route="validate", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@answers_problems
def validate(req: func.HttpRequest) -> func.HttpResponse:
    current = settings()
    report = validate_upload(
        req.get_body(),
        req.params,
        default_model=current.default_model,
        max_bytes=current.max_request_bytes,
    )
    return json_answer(report, status=200)
