"""The loss chart of a run as a standalone SVG document: no scripts, fonts or external files.

    ┌ legend: ── training loss  ── validation loss  ◆ lowest validation loss ┐
    │ y ticks (loss)      ┆epoch 1   ┆epoch 2          ◆ best                 │
    │                     ┆          ┆                                        │
    └ x ticks (step) ─────┴──────────┴────────────────────────────────────────┘

Training loss is `train_loss`; validation loss is `valid_loss`, or `full_valid_loss` on rows that
only have that. Epoch boundaries are dashed vertical lines at the steps given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from shared.render.ticks import nice_range, tick_label, ticks
from shared.runs.curves import LossPoint

WIDTH, HEIGHT = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 56, 48

STYLE = """
text { font: 12px system-ui, sans-serif; fill: #333; }
.axis { stroke: #555; stroke-width: 1; }
.grid { stroke: #e4e4e4; stroke-width: 1; }
.epoch { stroke: #9a9a9a; stroke-width: 1; stroke-dasharray: 4 4; }
.epoch-label { font-size: 11px; fill: #777; }
.curve { fill: none; stroke-width: 2; stroke-linejoin: round; }
.train { stroke: #1f6feb; }
.valid { stroke: #d9480f; }
.full-valid { fill: #d9480f; }
.best { fill: #ffd43b; stroke: #222; stroke-width: 1.5; }
.empty { font-size: 14px; fill: #666; }
"""


@dataclass(frozen=True)
class _Frame:
    """Maps (step, loss) to pixels inside the plot area."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: float = WIDTH
    height: float = HEIGHT

    def x(self, step: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return LEFT + (step - self.x0) / span * (self.width - LEFT - RIGHT)

    def y(self, loss: float) -> float:
        span = self.y1 - self.y0 or 1.0
        return self.height - BOTTOM - (loss - self.y0) / span * (self.height - TOP - BOTTOM)


def validation_loss(point: LossPoint) -> float | None:
    """The validation loss the chart draws for a row: the per-step one, else the full one."""
    return point.valid_loss if point.valid_loss is not None else point.full_valid_loss


def loss_chart_svg(
    points: Sequence[LossPoint],
    *,
    epoch_steps: Sequence[int] = (),
    title: str = "Training and validation loss",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """The chart as an SVG document (a string that parses as XML).

    `epoch_steps` are the last steps of each epoch; they are marked with dashed lines. With no
    points the chart says that training has not reported any yet; with training points only,
    the legend says there is no validation curve.
    """
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="loss-chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="loss-chart-title">',
        f'<title id="loss-chart-title">{escape(title)}</title>',
        f"<style>{STYLE}</style>",
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
    ]
    train = [(p.step, p.train_loss) for p in points if p.train_loss is not None]
    valid = [(p.step, loss) for p in points if (loss := validation_loss(p)) is not None]
    if not train and not valid:
        parts.append(
            f'<text class="empty" x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">'
            "No loss points yet: the chart appears once training reports its first steps."
            "</text></svg>"
        )
        return "".join(parts)
    steps = [step for step, _ in train + valid]
    losses = [loss for _, loss in train + valid]
    x_start, x_end, x_step = nice_range(min(steps), max(steps), 8)
    x_start = max(0.0, x_start)
    y_start, y_end, y_step = nice_range(min(losses), max(losses), 5)
    y_start = max(0.0, y_start)
    frame = _Frame(x_start, x_end, y_start, y_end, width, height)
    parts += _axes(frame, (x_start, x_end, x_step), (y_start, y_end, y_step))
    parts += _epochs(frame, [s for s in epoch_steps if x_start <= s <= x_end])
    parts.append(_polyline("train-loss", "curve train", "training loss", train, frame))
    if valid:
        parts.append(_polyline("valid-loss", "curve valid", "validation loss", valid, frame))
        parts += _full_validation(points, frame)
        parts.append(_best(valid, frame))
    parts.append(_legend(has_validation=bool(valid), has_epochs=bool(epoch_steps)))
    parts.append("</svg>")
    return "".join(parts)


def _axes(
    frame: _Frame, x_axis: tuple[float, float, float], y_axis: tuple[float, float, float]
) -> list[str]:
    left, right = LEFT, frame.width - RIGHT
    top, bottom = TOP, frame.height - BOTTOM
    parts = ['<g class="y-axis">']
    for value in ticks(*y_axis):
        y = frame.y(value)
        parts.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{tick_label(value, y_axis[2])}</text>"
        )
    parts.append(
        f'<text x="16" y="{(top + bottom) / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 16 {(top + bottom) / 2:.0f})">loss</text></g>'
    )
    parts.append('<g class="x-axis">')
    for value in ticks(*x_axis):
        x = frame.x(value)
        parts.append(
            f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 5}"/>'
        )
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">'
            f"{tick_label(value, x_axis[2])}</text>"
        )
    parts.append(
        f'<text x="{(left + right) / 2:.0f}" y="{frame.height - 8}" text-anchor="middle">'
        "step</text>"
    )
    parts.append(f'<line class="axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    parts.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{bottom}"/></g>')
    return parts


def _epochs(frame: _Frame, epoch_steps: Sequence[int]) -> list[str]:
    if not epoch_steps:
        return []
    parts = ['<g class="epochs">']
    # Label only as many boundaries as fit side by side; every line is still drawn.
    room = (frame.width - LEFT - RIGHT) / max(1, len(epoch_steps))
    every = max(1, round(60 / room)) if room < 60 else 1
    for index, step in enumerate(sorted(epoch_steps), start=1):
        x = frame.x(step)
        parts.append(
            f'<line class="epoch" data-step="{step}" x1="{x:.1f}" x2="{x:.1f}" '
            f'y1="{TOP}" y2="{frame.height - BOTTOM}"/>'
        )
        if index % every == 0 or index == 1:
            parts.append(
                f'<text class="epoch-label" x="{x - 4:.1f}" y="{TOP + 12}" text-anchor="end">'
                f"epoch {index}</text>"
            )
    parts.append("</g>")
    return parts


def _polyline(
    element_id: str, classes: str, label: str, series: list[tuple[int, float]], frame: _Frame
) -> str:
    coordinates = " ".join(f"{frame.x(step):.1f},{frame.y(loss):.1f}" for step, loss in series)
    return (
        f'<polyline id="{element_id}" class="{classes}" points="{coordinates}">'
        f"<title>{label}</title></polyline>"
    )


def _full_validation(points: Sequence[LossPoint], frame: _Frame) -> list[str]:
    """Dots for the full validation loss Azure computes at the end of each epoch."""
    dots = [
        f'<circle class="full-valid" cx="{frame.x(p.step):.1f}" '
        f'cy="{frame.y(p.full_valid_loss):.1f}" r="3">'
        f"<title>full validation loss {p.full_valid_loss:.4f} at step {p.step}</title>"
        "</circle>"
        for p in points
        if p.full_valid_loss is not None and p.valid_loss is not None
    ]
    return ['<g class="full-validation">', *dots, "</g>"] if dots else []


def _best(valid: list[tuple[int, float]], frame: _Frame) -> str:
    step, loss = min(valid, key=lambda pair: (pair[1], pair[0]))
    x, y = frame.x(step), frame.y(loss)
    text = f"lowest validation loss {loss:.4f} at step {step}"
    anchor = "end" if x > (frame.width - LEFT - RIGHT) * 0.7 + LEFT else "start"
    dx = -9 if anchor == "end" else 9
    return (
        f'<g id="best-valid" class="best-marker" data-step="{step}" data-loss="{loss:.6g}">'
        f'<path class="best" d="M{x:.1f} {y - 7:.1f} L{x + 7:.1f} {y:.1f} L{x:.1f} {y + 7:.1f} '
        f'L{x - 7:.1f} {y:.1f} Z"/><text x="{x + dx:.1f}" y="{y + 20:.1f}" '
        f"text-anchor={quoteattr(anchor)}>{escape(text)}</text></g>"
    )


def _legend(*, has_validation: bool, has_epochs: bool) -> str:
    items = [('<line class="curve train" x1="{x}" x2="{x24}" y1="8" y2="8"/>', "training loss")]
    if has_validation:
        items.append(
            ('<line class="curve valid" x1="{x}" x2="{x24}" y1="8" y2="8"/>', "validation loss")
        )
        items.append(
            (
                '<path class="best" d="M{x12} 1 L{x19} 8 L{x12} 15 L{x5} 8 Z"/>',
                "lowest validation loss",
            )
        )
    else:
        items.append(("", "no validation curve (no validation file)"))
    if has_epochs:
        items.append(('<line class="epoch" x1="{x}" x2="{x24}" y1="8" y2="8"/>', "end of epoch"))
    parts, x = [f'<g class="legend" transform="translate({LEFT} 14)">'], 0
    for swatch, label in items:
        if swatch:
            parts.append(swatch.format(x=x, x5=x + 5, x12=x + 12, x19=x + 19, x24=x + 24))
            x += 30
        parts.append(f'<text x="{x}" y="12">{label}</text>')
        x += 7 * len(label) + 20  # about 7 px per character at 12 px
    parts.append("</g>")
    return "".join(parts)
