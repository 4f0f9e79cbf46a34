"""Pure renderers: the loss chart (SVG) and the run page (HTML). No I/O, everything escaped."""

from shared.render.loss_chart import loss_chart_svg
from shared.render.run_page import content_security_policy, run_page_html

__all__ = ["content_security_policy", "loss_chart_svg", "run_page_html"]
