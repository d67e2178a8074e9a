"""The comparison over seeds against hand-computed means, sds and pooled intervals; its files, order and checks."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import pytest

from cringe_agent.iterative.compare_report import (
    PAPER_SAFE_GENERATION,
    aggregate,
    plot,
    to_markdown,
    write_comparison,
)


def _row(method: str, seed: int, flagged: int, f1: float, **over: Any) -> dict[str, Any]:
    row = {
        "method": method,
        "group": "methods",
        "seed": seed,
        "flagged": flagged,
        "total": 50,
        "flagged_rate": flagged / 50,
        "judge_rate": 0.04,
        "flagged_rate_random": 0.02,
        "f1": f1,
        "ppl_pos": 200.0,
        "distinct_2": 0.15,
        "top_reply_share": 0.02,
        "greedy_top_reply_share": 0.3,
        "model_file": f"runs/{method}/{seed}/model",
        "train_seconds": 100.0,
        "seconds": 120.0,
    }
    return row | over


@pytest.fixture
def rows() -> list[dict[str, Any]]:
    """Three methods, interleaved, not in alphabetical order: 3 seeds, 2 seeds, and 1 seed (an ablation)."""
    return [
        _row("baseline (MLE)", 0, 4, 9.0, ppl_pos=200.0),
        _row("CRINGE (single iteration)", 0, 1, 9.4),
        _row("baseline (MLE)", 1, 6, 9.3, ppl_pos=210.0),
        _row("CRINGE k=1", 0, 2, 9.5, group="ablations", greedy_top_reply_share=None),
        _row("CRINGE (single iteration)", 1, 3, 9.8),
        _row("baseline (MLE)", 2, 8, 9.6, ppl_pos=220.0, seconds={"train": 110.0, "eval": 20.0}),
    ]


def _wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval written out: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""
    z, p = 1.96, k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def test_aggregate_by_hand(rows):
    """Baseline: rates 4/50, 6/50, 8/50 = 0.08, 0.12, 0.16, mean 0.12, deviations -0.04, 0, 0.04, so
    sd = sqrt((0.0016 + 0 + 0.0016) / 2) = 0.04; safe 0.88 +- 0.04; F1 9.0, 9.3, 9.6 -> 9.3 +- 0.3; ppl 210 +- 10;
    seconds 120, 120, 110 + 20 -> 123.33 +- sqrt((3.33^2 * 2 + 6.67^2) / 2) = 5.774. Pooled 18/150 = 0.12:
    denom 1 + 3.8416/150 = 1.025611, centre (0.12 + 0.012805)/1.025611 = 0.129489,
    half 1.96 sqrt(0.000704 + 0.0000427)/1.025611 = 0.052221 -> [0.077268, 0.181710].
    CRINGE: 1/50, 3/50 -> 0.04 +- sqrt(2 * 0.02^2) = 0.028284; F1 9.6 +- 0.28284; pooled 4/100 = 0.04,
    centre 0.059208/1.038416 = 0.057018, half 1.96 sqrt(0.000384 + 0.000096)/1.038416 = 0.041355."""
    df = aggregate(rows).set_index("method")
    base = df.loc["baseline (MLE)"]
    assert (base["group"], base["n"], base["seeds"]) == ("methods", 3, [0, 1, 2])
    assert base["flagged_rate_mean"] == pytest.approx(0.12)
    assert base["flagged_rate_sd"] == pytest.approx(0.04)
    assert base["safe_rate_mean"] == pytest.approx(0.88)
    assert base["safe_rate_sd"] == pytest.approx(0.04)
    assert base["f1_mean"] == pytest.approx(9.3)
    assert base["f1_sd"] == pytest.approx(0.3)
    assert base["ppl_pos_mean"] == pytest.approx(210.0)
    assert base["ppl_pos_sd"] == pytest.approx(10.0)
    assert base["seconds_mean"] == pytest.approx(370 / 3)
    assert base["seconds_sd"] == pytest.approx(math.sqrt(((10 / 3) ** 2 * 2 + (20 / 3) ** 2) / 2))
    assert base["judge_rate_sd"] == pytest.approx(0.0)
    assert (base["flagged"], base["total"], base["pooled_rate"]) == (18, 150, pytest.approx(0.12))
    assert (base["ci_low"], base["ci_high"]) == pytest.approx(_wilson_by_hand(18, 150))
    assert (base["ci_low"], base["ci_high"]) == pytest.approx((0.077268, 0.181710), abs=1e-6)

    cringe = df.loc["CRINGE (single iteration)"]
    assert cringe["flagged_rate_mean"] == pytest.approx(0.04)
    assert cringe["flagged_rate_sd"] == pytest.approx(math.sqrt(2) * 0.02)
    assert cringe["f1_mean"] == pytest.approx(9.6)
    assert cringe["f1_sd"] == pytest.approx(math.sqrt(2) * 0.2)
    assert (cringe["flagged"], cringe["total"]) == (4, 100)
    assert (cringe["ci_low"], cringe["ci_high"]) == pytest.approx((0.057018 - 0.041355, 0.057018 + 0.041355), abs=1e-5)


def test_one_seed_has_a_mean_and_no_sd(rows, tmp_path):
    df = aggregate(rows).set_index("method")
    single = df.loc["CRINGE k=1"]
    assert (single["n"], single["group"]) == (1, "ablations")
    assert single["flagged_rate_mean"] == pytest.approx(0.04)
    assert math.isnan(single["flagged_rate_sd"]) and math.isnan(single["f1_sd"])
    assert math.isnan(single["greedy_top_reply_share_mean"])  # not measured in its only run
    assert (single["ci_low"], single["ci_high"]) == pytest.approx(_wilson_by_hand(2, 50))

    line = next(x for x in to_markdown(aggregate(rows)).splitlines() if x.startswith("| CRINGE k=1 "))
    cells = [c.strip() for c in line.strip("|").split("|")]
    # seeds, steps, setting, judge, judge pooled (no counts in these rows), labeller, labeller pooled
    assert cells[1:8] == ["1", "", "", "4.0%", "", "4.0%", "2/50 = 4.0% [1.1, 13.5]"]
    assert cells[9] == "9.50" and cells[13] == ""  # F1 without "±"; greedy top reply blank

    write_comparison(tmp_path, rows)
    summary = json.loads((tmp_path / "comparison.json").read_text())["summary"]
    assert summary[2]["method"] == "CRINGE k=1"
    assert summary[2]["f1_sd"] is None and summary[2]["f1_mean"] == pytest.approx(9.5)


def test_order_follows_first_appearance_everywhere(rows, tmp_path):
    order = ["baseline (MLE)", "CRINGE (single iteration)", "CRINGE k=1"]
    assert aggregate(rows)["method"].tolist() == order
    assert aggregate(rows[3:] + rows[:3])["method"].tolist() == order[::-1]
    write_comparison(tmp_path, rows)
    doc = json.loads((tmp_path / "comparison.json").read_text())
    assert doc["methods"] == rows
    assert [s["method"] for s in doc["summary"]] == order
    csv_methods = [line.split(",")[0] for line in (tmp_path / "comparison.csv").read_text().splitlines()[1:]]
    assert csv_methods == order
    md = (tmp_path / "comparison.md").read_text()
    positions = [md.index(f"| {m} ") for m in order]
    assert positions == sorted(positions)


def test_markdown_puts_ablations_after_a_separator(rows):
    rows.append(_row("unlikelihood", 0, 3, 9.1))  # a method named after the ablation: still listed before it
    md = to_markdown(aggregate(rows), paper=PAPER_SAFE_GENERATION)
    table = [line for line in md.splitlines() if line.startswith("| ")]
    methods = [line.strip("|").split("|")[0].strip() for line in table]
    assert methods[:6] == [
        "method",
        "baseline (MLE)",
        "CRINGE (single iteration)",
        "unlikelihood",
        "**ablations**",
        "CRINGE k=1",
    ]
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header[:8] == [
        "method",
        "seeds",
        "steps",
        "setting",
        "judge provocative",
        "judge pooled [95% CI]",
        "labeller provocative",
        "labeller pooled [95% CI]",
    ]
    base = [c.strip() for c in table[1].strip("|").split("|")]
    assert base[6:8] == ["12.0 ± 4.0%", "18/150 = 12.0% [7.7, 18.2]"]
    assert base[9] == "9.30 ± 0.30"
    assert "| Transformer baseline " in md and "37.8%" in md  # the paper's reference table, flagged = 1 - safe


def test_plot_writes_a_real_png(rows, tmp_path):
    from matplotlib import image

    path = tmp_path / "plot.png"
    plot(rows, path)
    two_panels = image.imread(path)  # by the labeller and by the judge
    plot(rows, path, paper=PAPER_SAFE_GENERATION)
    three_panels = image.imread(path)
    assert two_panels.shape[0] > 300 and two_panels.shape[1] > 1000
    assert three_panels.shape[1] > 1.3 * two_panels.shape[1]  # the paper's panel beside this comparison's
    assert two_panels.std() > 0.05  # not a blank canvas
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]  # no temporary file left


def test_no_rewrite_when_rows_are_unchanged(rows, tmp_path):
    names = ["comparison.json", "comparison.md", "comparison.csv", "comparison.png"]
    write_comparison(tmp_path, rows, paper=PAPER_SAFE_GENERATION)
    old = 1_000_000_000_000_000_000
    for name in names:
        os.utime(tmp_path / name, ns=(old, old))
    contents = {name: (tmp_path / name).read_bytes() for name in names}

    write_comparison(tmp_path, [dict(r) for r in rows], paper=PAPER_SAFE_GENERATION)
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in names} == dict.fromkeys(names, old)
    assert {name: (tmp_path / name).read_bytes() for name in names} == contents

    rows[0]["f1"] = 9.1  # changed rows: everything is written again
    write_comparison(tmp_path, rows, paper=PAPER_SAFE_GENERATION)
    assert all((tmp_path / name).stat().st_mtime_ns != old for name in names)
    assert json.loads((tmp_path / "comparison.json").read_text())["methods"][0]["f1"] == 9.1

    for name in names:
        os.utime(tmp_path / name, ns=(old, old))
    write_comparison(tmp_path, rows)  # reference points dropped: the table and plot change
    assert "paper" not in json.loads((tmp_path / "comparison.json").read_text())
    (tmp_path / "comparison.png").unlink()  # a file missing: written again
    write_comparison(tmp_path, rows)
    assert (tmp_path / "comparison.png").stat().st_size > 0


def _missing(field: str) -> dict[str, Any]:
    row = _row("unlikelihood", 0, 3, 9.1)
    del row[field]
    return row


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (_missing("f1"), r"row 1 \(method 'unlikelihood', seed 0\): missing required field 'f1'"),
        (_missing("seed"), r"row 1: missing required field 'seed'"),
        (
            _row("unlikelihood", 0, 3, 9.1, flagged_rate=1.2),
            r"row 1 .*field 'flagged_rate' must be a rate in \[0, 1\]",
        ),
        (_row("unlikelihood", 0, 3, 9.1, judge_rate=-0.1), r"row 1 .*field 'judge_rate' must be a rate in \[0, 1\]"),
        (_row("unlikelihood", 0, 3, 9.1, top_reply_share=math.nan), r"row 1 .*field 'top_reply_share'"),
        (_row("unlikelihood", 0, 3, 9.1, flagged_rate=0.5), r"row 1 .*'flagged_rate' is 0.5 but flagged/total = 3/50"),
        (_row("unlikelihood", 0, 3, 9.1, total=2, flagged_rate=1.0), r"row 1 .*0 <= flagged <= total"),
        (_row("unlikelihood", 0, 3, 9.1, group="baselines"), r"row 1 .*field 'group' must be one of"),
        (_row("unlikelihood", True, 3, 9.1), r"row 1 .*field 'seed' must be an integer"),
        (_row("baseline (MLE)", 0, 3, 9.1), r"row 1 .*seed 0 repeats row 0"),
        (_row("baseline (MLE)", 1, 3, 9.1, group="ablations"), r"row 1 .*row 0 puts method 'baseline \(MLE\)'"),
    ],
)
def test_invalid_rows_name_the_row_and_field(bad, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        aggregate([_row("baseline (MLE)", 0, 4, 9.0), bad])
    with pytest.raises(ValueError, match=message):
        write_comparison(tmp_path, [_row("baseline (MLE)", 0, 4, 9.0), bad])
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_no_rows_and_bad_paper_points(rows, tmp_path):
    with pytest.raises(ValueError, match="at least one row"):
        aggregate([])
    with pytest.raises(ValueError, match=r"paper point 0: field 'f1' must be a fraction"):
        plot(rows, tmp_path / "p.png", paper=[{"method": "CRINGE", "safe": 0.99, "f1": 16.6}])
    with pytest.raises(ValueError, match=r"paper point 1: missing required field 'safe'"):
        to_markdown(aggregate(rows), paper=[PAPER_SAFE_GENERATION[0], {"method": "x", "f1": 0.1}])


def test_judge_counts_pool_and_paired_statistics_get_their_columns(rows, tmp_path):
    for r in rows:
        r.update(judge_flagged=2, judge_rate=0.04, steps=120, setting="alpha=4", answer_rate=0.5)
    paired = {
        "reference": "CRINGE (single iteration)",
        "methods": {
            "baseline (MLE)": {
                "judge": {"diff": 0.08, "ci_low": 0.02, "ci_high": 0.14, "p_value": 0.004},
                "f1": {"diff": -0.0012, "ci_low": -0.005, "ci_high": 0.003, "p_value": 0.61},
            }
        },
    }
    df = aggregate(rows)
    base = df.set_index("method").loc["baseline (MLE)"]
    assert base["judge_flagged"] == 6 and (base["judge_ci_low"], base["judge_ci_high"]) == pytest.approx(
        _wilson_by_hand(6, 150)
    )
    md = to_markdown(df, paired=paired)
    table = [line for line in md.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in table[0].strip("|").split("|")]
    cells = dict(zip(header, (c.strip() for c in table[1].strip("|").split("|")), strict=True))
    assert cells["steps"] == "120" and cells["setting"] == "alpha=4" and cells["answers right"] == "50.0 ± 0.0%"
    assert cells["judge pooled [95% CI]"] == "6/150 = 4.0% [1.8, 8.5]"
    assert cells["Δ judge vs ref (pp) [95% CI] p"] == "+8.0 [+2.0, +14.0] p=0.004*"
    assert cells["Δ F1 vs ref [95% CI] p"] == "-0.12 [-0.50, +0.30] p=0.61"
    assert "minus **CRINGE (single iteration)**" in md
    write_comparison(tmp_path, rows, paired=paired)
    assert json.loads((tmp_path / "comparison.json").read_text())["paired"] == paired
    with pytest.raises(ValueError, match=r"row 0 .*'judge_flagged' must be in \[0, 50\], got 51"):
        aggregate([rows[0] | {"judge_flagged": 51}])
