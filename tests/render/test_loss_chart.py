"""The loss chart: valid SVG, both curves, epochs and the lowest validation loss marked."""

import xml.etree.ElementTree as ET

from shared.render import loss_chart_svg
from shared.render.ticks import nice_range, tick_label, ticks
from shared.runs.curves import LossPoint

SVG = "{http://www.w3.org/2000/svg}"


def curves(steps: int = 30, per_epoch: int = 10) -> list[LossPoint]:
    points = []
    for step in range(1, steps + 1):
        valid = 1.0 + abs(step - 18) / 20  # lowest at step 18
        points.append(
            LossPoint(
                step=step,
                train_loss=2.0 / step,
                valid_loss=valid,
                full_valid_loss=valid if step % per_epoch == 0 else None,
            )
        )
    return points


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def polyline(root: ET.Element, element_id: str) -> ET.Element | None:
    return next((e for e in root.iter(f"{SVG}polyline") if e.get("id") == element_id), None)


def test_chart_parses_as_svg_and_holds_both_curves_with_one_vertex_per_point() -> None:
    root = parse(loss_chart_svg(curves(), epoch_steps=[10, 20, 30]))
    assert root.tag == f"{SVG}svg"
    train, valid = polyline(root, "train-loss"), polyline(root, "valid-loss")
    assert train is not None and "train" in train.get("class", "")
    assert valid is not None and "valid" in valid.get("class", "")
    assert len(train.get("points", "").split()) == 30
    assert len(valid.get("points", "").split()) == 30


def test_chart_marks_each_epoch_end_and_labels_them() -> None:
    root = parse(loss_chart_svg(curves(), epoch_steps=[10, 20, 30]))
    epochs = [
        e for e in root.iter(f"{SVG}line") if e.get("class") == "epoch" and e.get("data-step")
    ]
    assert [e.get("data-step") for e in epochs] == ["10", "20", "30"]
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "epoch-label"]
    assert labels == ["epoch 1", "epoch 2", "epoch 3"]


def test_chart_marks_the_lowest_validation_loss_with_its_step() -> None:
    root = parse(loss_chart_svg(curves()))
    best = next(e for e in root.iter(f"{SVG}g") if e.get("id") == "best-valid")
    assert best.get("data-step") == "18"
    assert "lowest validation loss 1.0000 at step 18" in "".join(best.itertext())


def test_chart_has_a_legend_and_ticks_on_both_axes() -> None:
    root = parse(loss_chart_svg(curves(), epoch_steps=[10, 20, 30]))
    legend = next(e for e in root.iter(f"{SVG}g") if e.get("class") == "legend")
    assert {"training loss", "validation loss", "lowest validation loss", "end of epoch"} <= {
        t.text for t in legend.iter(f"{SVG}text")
    }
    x_ticks = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "x-axis"
               for t in g.iter(f"{SVG}text") if t.get("class") == "tick"]  # fmt: skip
    assert x_ticks[0] == "0" and x_ticks[-1] == "30"
    y_axis = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "y-axis")
    assert len([t for t in y_axis.iter(f"{SVG}text") if t.get("class") == "tick"]) >= 3


def test_chart_without_points_says_so_and_is_still_valid_svg() -> None:
    root = parse(loss_chart_svg([]))
    assert polyline(root, "train-loss") is None
    assert "No loss points yet" in "".join(root.itertext())


def test_chart_with_training_points_only_draws_one_curve_and_explains_the_missing_one() -> None:
    points = [LossPoint(step=s, train_loss=1 / s) for s in range(1, 6)]
    root = parse(loss_chart_svg(points))
    assert polyline(root, "train-loss") is not None
    assert polyline(root, "valid-loss") is None
    assert "no validation curve (no validation file)" in "".join(root.itertext())


def test_chart_of_a_single_point_keeps_finite_coordinates() -> None:
    svg = loss_chart_svg([LossPoint(step=1, train_loss=0.5, valid_loss=0.5)])
    root = parse(svg)
    assert "nan" not in svg and "inf" not in svg
    assert polyline(root, "valid-loss") is not None


def test_chart_title_is_escaped() -> None:
    root = parse(loss_chart_svg(curves(), title='<script>alert("x")</script> & more'))
    title = next(root.iter(f"{SVG}title"))
    assert title.text == '<script>alert("x")</script> & more'
    assert not list(root.iter(f"{SVG}script"))


def test_full_validation_loss_alone_is_drawn_as_the_validation_curve() -> None:
    points = [LossPoint(step=s, train_loss=1.0, full_valid_loss=2.0 - s / 10) for s in (5, 10)]
    root = parse(loss_chart_svg(points))
    assert len(polyline(root, "valid-loss").get("points", "").split()) == 2  # type: ignore[union-attr]


def test_ticks_are_round_numbers_that_cover_the_data() -> None:
    start, end, step = nice_range(0.37, 2.61, 5)
    assert (start, end, step) == (0.0, 3.0, 0.5)
    assert ticks(start, end, step) == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert tick_label(0.5, 0.5) == "0.5"
    assert tick_label(0.05, 0.05) == "0.05"
    assert tick_label(200, 50) == "200"
