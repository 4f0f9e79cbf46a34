"""The Tunedrop Function App: creates the app and registers the blueprints in `functions/`."""

import azure.functions as func

from functions import health

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health.bp)
