"""Paired bootstrap intervals and shared ranks (mmiml.evaluation.bootstrap) on data whose answer
is known, and the per-image record of IMLMetric that feeds them."""
from __future__ import annotations

import numpy as np
import pytest

from mmiml.evaluation.bootstrap import (
    AVG,
    compare_runs,
    format_difference,
    format_rank,
    paired_bootstrap,
    per_image_matrix,
    shared_ranks,
)
from mmiml.utils.errors import IMLDataError


def run_doc(values: dict[str, list[float]], path: str = "run.json", ids: dict | None = None
            ) -> dict:
    """A result with per-image IoU only (all images tampered)."""
    per_image = {}
    for task, vals in values.items():
        n = len(vals)
        per_image[task] = {"id": (ids or {}).get(task, [f"{task}/{i:04d}.jpg" for i in range(n)]),
                           "tampered": [True] * n, "iou": list(vals), "f1": list(vals),
                           "score": [0.5] * n}
    return {"_path": path, "result": {"per_image": per_image}}


def test_identical_models_differ_by_exactly_zero():
    m = np.random.default_rng(0).random((1, 200))
    out = paired_bootstrap({"natural": m}, {"natural": m.copy()})
    d = out["natural"]
    assert d.diff == 0.0 and d.low == 0.0 and d.high == 0.0
    assert not d.significant


def test_a_constant_shift_is_found_exactly_and_is_significant():
    m = np.random.default_rng(1).random((1, 150)) * 0.8
    d = paired_bootstrap({"face": m}, {"face": m + 0.1})["face"]
    assert d.diff == pytest.approx(0.1)
    assert d.low == pytest.approx(0.1) and d.high == pytest.approx(0.1)
    assert d.significant


def test_interval_matches_the_normal_theory_width_for_one_seed():
    # per-image differences with mean mu and sd sigma: the 95% interval of the mean is about
    # mu +- 1.96 sigma / sqrt(n)
    rng = np.random.default_rng(2)
    n, mu, sigma = 400, 0.03, 0.2
    a = rng.random((1, n))
    b = a + rng.normal(mu, sigma, (1, n))
    d = paired_bootstrap({"natural": a}, {"natural": b}, replicates=4000)["natural"]
    observed_sd = float(np.std(b - a, ddof=1))
    half = 1.96 * observed_sd / np.sqrt(n)
    assert d.diff == pytest.approx(float((b - a).mean()))
    assert (d.high - d.low) / 2 == pytest.approx(half, rel=0.1)
    assert d.low < d.diff < d.high


def test_pairing_separates_a_small_consistent_gain_that_image_difficulty_would_hide():
    rng = np.random.default_rng(3)
    difficulty = rng.random((1, 300))  # images differ a lot; both models see the same ones
    a, b = difficulty, difficulty + 0.01 + rng.normal(0, 0.002, (1, 300))
    d = paired_bootstrap({"natural": a}, {"natural": b})["natural"]
    assert d.significant and d.low > 0.005
    # an unpaired view (independent image draws) would not separate them
    shuffled = b[:, rng.permutation(300)]
    d_unpaired = paired_bootstrap({"natural": a}, {"natural": shuffled})["natural"]
    assert d_unpaired.diff == pytest.approx(d.diff)
    assert d_unpaired.low < 0 < d_unpaired.high


def test_seed_spread_widens_the_interval():
    rng = np.random.default_rng(4)
    base = rng.random(250)
    a1 = base[None]
    b1 = (base + 0.02)[None]
    # three seeds of B that move the whole model by -0.05, +0.02, +0.09: retraining noise
    b3 = np.stack([base + 0.02 + s for s in (-0.07, 0.0, 0.07)])
    a3 = np.stack([base, base, base])
    one = paired_bootstrap({"t": a1}, {"t": b1})["t"]
    three = paired_bootstrap({"t": a3}, {"t": b3})["t"]
    assert one.diff == pytest.approx(0.02) and three.diff == pytest.approx(0.02)
    assert one.high - one.low < 1e-9  # a constant shift: no image noise at all
    assert three.high - three.low > 0.05  # only the seeds can make this interval
    assert (three.seeds_a, three.seeds_b) == (3, 3)


def test_average_is_the_macro_mean_over_tasks():
    rng = np.random.default_rng(5)
    a = {"natural": rng.random((1, 100)), "document": rng.random((1, 60))}
    b = {"natural": a["natural"] + 0.1, "document": a["document"] - 0.02}
    out = paired_bootstrap(a, b)
    assert out[AVG].diff == pytest.approx((0.1 - 0.02) / 2)
    assert out[AVG].low == pytest.approx(0.04) and out[AVG].high == pytest.approx(0.04)
    assert out[AVG].num_images == 160


def test_the_same_inputs_give_the_same_interval():
    rng = np.random.default_rng(6)
    a, b = {"t": rng.random((2, 80))}, {"t": rng.random((3, 80))}
    assert paired_bootstrap(a, b, seed=7)["t"] == paired_bootstrap(a, b, seed=7)["t"]


def test_compare_runs_pairs_images_by_id_whatever_the_order():
    vals = [0.1, 0.5, 0.9, 0.3]
    ids = [f"natural/{i}.jpg" for i in range(4)]
    a = run_doc({"natural": vals}, ids={"natural": ids})
    # B lists the same images in reverse order, each 0.05 better
    b = run_doc({"natural": [v + 0.05 for v in vals][::-1]}, ids={"natural": ids[::-1]})
    d = compare_runs([a], [b])["natural"]
    assert d.diff == pytest.approx(0.05) and d.low == pytest.approx(0.05)


def test_runs_on_other_images_are_refused_by_name():
    a = run_doc({"natural": [0.1, 0.2]}, path="a.json")
    b = run_doc({"natural": [0.1, 0.2]}, path="b.json",
                ids={"natural": ["natural/0000.jpg", "natural/other.jpg"]})
    with pytest.raises(IMLDataError, match="b.json.*other images"):
        compare_runs([a], [b])
    with pytest.raises(IMLDataError, match="b.json.*other images"):
        per_image_matrix([a, b], "natural")


def test_a_result_without_per_image_figures_is_named():
    doc = {"_path": "old.json", "result": {"per_task": {}}}
    with pytest.raises(IMLDataError, match="old.json.*no per-image figures"):
        per_image_matrix([doc], "natural")


def test_authentic_images_without_a_figure_are_left_out():
    doc = run_doc({"natural": [0.4, 0.6, 0.8]})
    doc["result"]["per_image"]["natural"]["iou"][1] = None
    ids, m = per_image_matrix([doc], "natural")
    assert m.tolist() == [[0.4, 0.8]] and len(ids) == 2


def test_shared_ranks_from_significance():
    scores = {"A": 0.30, "B": 0.28, "C": 0.20}
    # only A vs C is significant: A can be 1st or 2nd, B anywhere, C 2nd or 3rd
    ranks = shared_ranks(scores, {("A", "C"): True})
    assert ranks == {"A": (1, 2), "B": (1, 3), "C": (2, 3)}
    assert [format_rank(ranks[m]) for m in "ABC"] == ["1–2", "1–3", "2–3"]
    # everything separated: plain ranks
    sep = {("A", "B"): True, ("A", "C"): True, ("B", "C"): True}
    assert shared_ranks(scores, sep) == {"A": (1, 1), "B": (2, 2), "C": (3, 3)}
    # nothing separated: all share 1-3
    assert set(shared_ranks(scores, {}).values()) == {(1, 3)}


def test_format_difference_marks_significance():
    rng = np.random.default_rng(8)
    m = rng.random((1, 50))
    sig = paired_bootstrap({"t": m}, {"t": m + 0.012})["t"]
    assert format_difference(sig) == "**+1.2 [+1.2, +1.2]**"
    noisy = paired_bootstrap({"t": m}, {"t": rng.random((1, 50))})["t"]
    assert not format_difference(noisy).startswith("**")
    assert format_difference(None) == "-"


def test_bad_arguments():
    m = np.zeros((1, 10))
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap({"t": m}, {"t": m}, level=1.0)
    with pytest.raises(ValueError, match="share no task"):
        paired_bootstrap({"t": m}, {"u": m})
    with pytest.raises(ValueError, match="same images"):
        paired_bootstrap({"t": m}, {"t": np.zeros((1, 11))})
