"""What the app shows (issue 20): the listener and 4Q heads blended, moods named around the mood centre."""

import json

import numpy as np
import pytest

from emotionet.listener import cues, judge
from emotionet.models.joint import JointHead, cross_validate
from emotionet.mood import mood_index


def _sources(seed=0, n4q=400, nl=300, d=30):
    """4Q: balanced quadrants from a 'tag' valence direction; listeners: mostly positive valence
    from a related direction (as on the real sets, where 88% of music is heard as positive)."""
    rng = np.random.default_rng(seed)
    w_tag, w_listener, w_arousal = rng.standard_normal(d), rng.standard_normal(d), rng.standard_normal(d)
    w_listener = 0.4 * w_tag + 0.9 * w_listener

    def make(n, listener):
        x = rng.standard_normal((n, d))
        c = rng.standard_normal((n, len(cues.NAMES)))
        v, a = x @ (w_listener if listener else w_tag), x @ w_arousal
        y = np.stack([v / v.std(), a / a.std()], 1) * (0.1 if listener else 0.15) + (0.65 if listener else 0.5)
        return x, c, np.clip(y + 0.01 * rng.standard_normal(y.shape), 0, 1)

    (xa, ca, ya), listener = make(n4q, False), make(nl, True)
    return (xa, ca, ya, mood_index(ya[:, 0], ya[:, 1])), listener


def test_blend_zero_is_the_listener_head_and_one_ranks_as_the_4q_heads_log_odds():
    (xa, ca, ya, qa), (xl, cl, yl) = _sources()
    head = JointHead.fit(xa, ca, ya, qa, xl, cl, yl)
    np.testing.assert_allclose(head.predict_raw(xl, cl, (0, 0)), head.listener.predict_raw(xl, cl))
    four_q = head.predict_raw(xa, ca, (1, 1))
    for axis in range(2):  # a positive affine map of the log-odds: same order, same decisions
        assert np.corrcoef(four_q[:, axis], head.logits(xa)[:, axis])[0, 1] == pytest.approx(1.0)


def test_the_mood_centre_splits_a_balanced_set_evenly_and_the_point_agrees_with_the_word():
    (xa, ca, ya, qa), (xl, cl, yl) = _sources(1)
    head = JointHead.fit(xa, ca, ya, qa, xl, cl, yl)
    cal, centre = head.calibrate(xa, ca, xl, cl, yl)
    assert centre[0] > 0.55  # listeners' typical song is positive: the centre is not the midpoint
    said = judge.said(cal.apply(head.predict_raw(xa, ca)), centre)
    assert np.bincount(said, minlength=4).min() > 0.15 * len(said)  # every mood said on a balanced set
    midpoint = mood_index(*cal.apply(head.predict_raw(xa, ca)).T)
    assert np.bincount(midpoint, minlength=4).min() < np.bincount(said, minlength=4).min()  # v1's naming skews


def test_cross_validation_judges_each_clip_by_heads_that_never_saw_it():
    (xa, ca, ya, qa), (xl, cl, yl) = _sources(2)
    folds_a = [(np.setdiff1d(np.arange(len(ya)), np.arange(k, len(ya), 4)), np.arange(k, len(ya), 4)) for k in range(4)]
    folds_l = [(np.setdiff1d(np.arange(len(yl)), np.arange(k, len(yl), 4)), np.arange(k, len(yl), 4)) for k in range(4)]
    cv = cross_validate(xa, ca, ya, qa, xl, cl, yl, folds_a, folds_l, [(0.0, 0.0), (1.0, 1.0)])
    (shown_a, centres_a), (shown_l, centres_l, confidence) = cv[(0.0, 0.0)]["4q"], cv[(0.0, 0.0)]["listener"]
    assert len(np.unique(centres_a[:, 0])) == 4  # one centre per fold, fitted on its training clips
    listener_only = judge.score_listeners(shown_l, yl, centres_l, confidence)
    four_q_only = judge.score_listeners(cv[(1.0, 1.0)]["listener"][0], yl, cv[(1.0, 1.0)]["listener"][1])
    assert listener_only["r_valence"] > four_q_only["r_valence"] + 0.1  # the listener head hears listeners
    tags = judge.score_4q(cv[(1.0, 1.0)]["4q"][0], qa, cv[(1.0, 1.0)]["4q"][1])
    assert tags["accuracy"] > judge.score_4q(shown_a, qa, centres_a)["accuracy"]  # the 4Q head, the editors
    assert 0.25 <= confidence.min() and confidence.max() <= 1.0


def test_the_blend_round_trips_through_config(tmp_path):
    (xa, ca, ya, qa), (xl, cl, yl) = _sources(3)
    head = JointHead.fit(xa, ca, ya, qa, xl, cl, yl, blend=(0.3, 0.1))
    import json

    config = json.loads(json.dumps(head.to_config()))  # as config.json stores it
    again = JointHead.from_config(head.listener, head.four_q, config)
    np.testing.assert_allclose(again.predict_raw(xl, cl), head.predict_raw(xl, cl))


def test_deciding_the_side_keeps_the_listener_value_where_the_heads_agree_and_moves_it_across_where_not():
    (xa, ca, ya, qa), (xl, cl, yl) = _sources(4)
    plain = JointHead.fit(xa, ca, ya, qa, xl, cl, yl, blend=(0.0, 0.1))
    decided = JointHead.fit(xa, ca, ya, qa, xl, cl, yl, blend=(0.0, 0.1), decide=3.0)
    a, b = plain.predict_raw(xa, ca), decided.predict_raw(xa, ca)
    np.testing.assert_allclose(a[:, 1], b[:, 1])  # arousal untouched
    s = decided.stats
    pivot = s["listener_mean"][0] + s["listener_std"][0] * s["listener_median"][0]
    moved = ~np.isclose(a[:, 0], b[:, 0])
    assert 0 < moved.mean() < 0.3  # only where the heads disagree about the side
    assert np.all(np.sign(a[moved, 0] - pivot) != np.sign(b[moved, 0] - pivot))  # moved across the centre
    assert np.all(np.abs(b[moved, 0] - pivot) < 0.03 * s["listener_std"][0])  # ... just across: a close call
    quadrant_side = np.sign(decided.logits(xa)[:, 0] - np.median(decided.logits(xa)[:, 0]))
    agree = lambda raw: np.mean(np.sign(raw[:, 0] - pivot) == quadrant_side)  # noqa: E731
    assert agree(b) > agree(a)  # the side follows the 4Q evidence more often
    config = json.loads(json.dumps(decided.to_config()))
    assert config["decide"] == 3.0
    again = JointHead.from_config(decided.listener, decided.four_q, config)
    np.testing.assert_allclose(again.predict_raw(xl, cl), decided.predict_raw(xl, cl))


def test_the_shown_rule_is_reported_over_fold_seeds_with_spreads_and_a_150_clip_range():
    from types import SimpleNamespace

    from emotionet.training import shown_rule_over_seeds
    from emotionet.training.model_card import shown_rule_rows

    (xa, ca, ya, qa), (xl, cl, yl) = _sources(3, n4q=240, nl=160)
    tracks = [SimpleNamespace(quadrant=int(q), artist=f"a{i % 40}") for i, q in enumerate(qa)]
    l_tracks = [SimpleNamespace(quadrant=int(q), artist=f"l{i % 40}") for i, q in enumerate(mood_index(*yl.T))]
    head = JointHead.fit(xa, ca, ya, qa, xl, cl, yl, decide=3.0)
    rule = shown_rule_over_seeds(xa, ca, ya, qa, xl, cl, yl, tracks, l_tracks, head, seeds=[0, 1, 2])
    assert rule["fold_seeds"] == [0, 1, 2] and rule["decide"] == 3.0
    for key in ("accuracy_4q", "accuracy_listener", "r_valence", "r_arousal"):
        m = rule[key]
        assert len(m["per_seed"]) == 3 and len(set(m["per_seed"])) > 1  # other folds, other figures
        assert m["mean"] == pytest.approx(np.mean(m["per_seed"]), abs=1e-4)
        assert m["sd"] == pytest.approx(np.std(m["per_seed"]), abs=1e-4)
        low, high = m["ci95_150"]
        assert low < m["mean"] < high and high - low > 0.05  # 150 clips: several points either way
    assert 0.5 < rule["accuracy_4q"]["mean"] <= 1 and rule["r_valence"]["mean"] > 0.5  # the heads learn
    assert 0 <= rule["close_share_4q"]["mean"] <= 1
    table = shown_rule_rows(rule)
    assert "± " in table and "95% range on 150 clips" in table and "editors' moods" in table


def test_a_150_clip_range_is_wilsons_for_an_accuracy_and_fishers_for_r():
    from emotionet.models.joint import interval_150

    low, high = interval_150(0.74, "accuracy_4q")
    assert (low, high) == pytest.approx((0.665, 0.803), abs=0.002)  # "0.74 may read 0.67-0.80 on 150 clips"
    low, high = interval_150(0.9, "r_arousal")
    assert 0.86 < low < 0.9 < high < 0.93
