"""The Tunedrop Function App: creates the app and registers the blueprints in `functions/`."""

import azure.functions as func

from functions import (
    advance_runs,
    evaluation_api,
    health,
    improve_api,
    inbox,
    notifications,
    openapi,
    poison,
    run_page,
    runs_api,
    validate,
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health.bp)
app.register_functions(validate.bp)
app.register_functions(inbox.bp)
app.register_functions(advance_runs.bp)
app.register_functions(poison.bp)
app.register_functions(runs_api.bp)
app.register_functions(run_page.bp)
app.register_functions(notifications.bp)
app.register_functions(openapi.bp)
app.register_functions(evaluation_api.bp)
app.register_functions(improve_api.bp)
