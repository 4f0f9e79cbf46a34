"""The lineage on the run page: the comparison for a child, the children for a parent, every
value escaped."""

from __future__ import annotations

from shared.improvement.page import lineage_html

EVIL = "<script>alert(1)</script>"


def test_a_child_page_shows_before_and_after_per_set_and_the_flipped_items_escaped():
    html = lineage_html(
        {
            "parent": "yoshi",
            "comparison": {
                "parent_verdict": "learned the trained phrasings only",
                "child_verdict": "generalizes",
                "sets": [{"set": "paraphrased", "before": 0.25, "after": 1.0,
                          "before_text": "1/4", "after_text": "4/4"}],
                "failed_to_passed": [{"question": f"ヨシの好物は？{EVIL}"}],
                "passed_to_failed": [],
            },
        }
    )  # fmt: skip
    assert "Improved from run <strong>yoshi</strong>" in html
    assert "learned the trained phrasings only → generalizes" in html
    assert "<td>1/4 (25%)</td><td>4/4 (100%)</td>" in html
    assert "failed → passed (1)" in html and "passed → failed (0)" in html
    assert "ヨシの好物は？&lt;script&gt;" in html and "<script>" not in html


def test_a_parent_page_lists_its_children_and_how_to_start_one_not_started():
    html = lineage_html(
        {"children": [{"run": "yoshi-r2", "status": "written", "new_phrasings": 134,
                       "estimated_training_cost_usd": 0.16,
                       "how_to_start": 'POST /api/runs/yoshi/improve with {"start": true}'}]}
    )  # fmt: skip
    assert '<table id="lineage-children">' in html and "<td>yoshi-r2</td>" in html
    assert "to start it: POST /api/runs/yoshi/improve with {&quot;start&quot;: true}" in html
    assert lineage_html(None) == "" and lineage_html({}) == ""
