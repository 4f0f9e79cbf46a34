"""Timer: advance every active run by the steps that are due, recording each transition."""

import azure.functions as func

from shared.bootstrap import services
from shared.pipeline import advance_runs

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="%RUN_TIMER_SCHEDULE%", run_on_startup=False)
def advance_active_runs(timer: func.TimerRequest) -> None:
    app = services()
    advance_runs(app, app.clock())
