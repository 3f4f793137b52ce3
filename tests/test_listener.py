"""The listener head, the valence cues and the listener-scale calibration (issue 9)."""

import numpy as np
import pytest

from emotionet.listener import ListenerHead, cues, judge
from emotionet.metrics import agreement_metrics, reliability
from emotionet.mood import Calibration


def _sources(seed=0, n4q=300, nl=120, d=40):
    """Two sources sharing an arousal direction; listener valence follows a direction 4Q's labels miss."""
    rng = np.random.default_rng(seed)
    w_shared, w_listener = rng.standard_normal(d), rng.standard_normal(d)

    def make(n, listener):
        x = rng.standard_normal((n, d))
        c = rng.standard_normal((n, len(cues.NAMES)))
        v = x @ (w_listener if listener else w_shared) + 2 * c[:, 2]
        a = x @ w_shared[::-1]
        y = np.stack([v, a], 1)
        y = (y - y.mean(0)) / y.std(0) * (0.1 if listener else 0.15) + (0.6 if listener else 0.5)
        return x, c, y + 0.01 * rng.standard_normal(y.shape)

    return make(n4q, False), make(nl, True), make(200, True)


def test_the_listener_head_learns_what_listeners_hear_that_4q_labels_miss():
    (xa, ca, ya), (xl, cl, yl), (xt, ct, yt) = _sources()
    head = ListenerHead(alpha=10.0).fit(xa, ca, ya, xl, cl, yl)
    listener = agreement_metrics(head.predict_raw(xt, ct), yt)
    four_q_head = agreement_metrics(head.predict_4q(xt, ct), yt)
    assert listener["r_valence"] > 0.9  # the listener-only part found the listeners' valence
    assert four_q_head["r_valence"] < 0.5  # the shared (4Q) part alone does not
    assert listener["r_arousal"] > 0.9 and four_q_head["r_arousal"] > 0.9  # where both agree, both heads know it
    assert abs(head.predict_raw(xt, ct)[:, 0].mean() - 0.6) < 0.05  # on the listener scale, not 4Q's


def test_the_listener_head_round_trips_as_plain_arrays(tmp_path):
    (xa, ca, ya), (xl, cl, yl), (xt, ct, _) = _sources(1)
    head = ListenerHead().fit(xa, ca, ya, xl, cl, yl)
    np.savez(tmp_path / "listener.npz", **head.to_arrays())  # as the checkpoint bundle stores it
    with np.load(tmp_path / "listener.npz", allow_pickle=False) as data:  # no pickles
        assert set(data.files) >= {"shared", "delta", "params"}
        loaded = ListenerHead.from_arrays(data)
    np.testing.assert_allclose(loaded.predict_raw(xt, ct), head.predict_raw(xt, ct))


def test_cues_hear_major_and_minor():
    def chord_chroma(root, third):
        chroma = np.full((12, 200), 0.05)
        for pc in (root, (root + third) % 12, (root + 7) % 12):
            chroma[pc] = 1.0
        return chroma

    base = {"mfcc": np.zeros((13, 200)), "contrast": np.zeros((7, 200))}
    major = cues.clip_cues({**base, "chroma": chord_chroma(0, 4)})
    minor = cues.clip_cues({**base, "chroma": chord_chroma(9, 3)})
    i = cues.NAMES.index("major minus minor")
    assert major[i] > 0 > minor[i]
    assert cues.clip_cues({**base, "chroma": chord_chroma(0, 4)[:, :5]}).shape == (
        len(cues.NAMES),
    )  # short windows work


def test_affine_calibration_matches_the_listeners_mean_and_spread():
    rng = np.random.default_rng(0)
    truth = np.clip(0.6 + 0.1 * rng.standard_normal((500, 2)), 0, 1)
    raw = 0.3 + 0.3 * (truth - 0.6) + 0.02 * rng.standard_normal((500, 2))  # shrunk and shifted
    shown = Calibration.fit_affine(raw, truth).apply(raw)
    np.testing.assert_allclose(shown.mean(0), truth.mean(0), atol=0.01)
    np.testing.assert_allclose(shown.std(0), truth.std(0), rtol=0.05)


def test_stated_confidence_matches_how_often_the_mood_is_right():
    rng = np.random.default_rng(1)
    truth = np.clip(rng.uniform(0.2, 0.9, (4000, 2)), 0, 1)
    raw = 0.5 * truth + 0.05 * rng.standard_normal(truth.shape)  # shrunk, noisy: sigma 0.1 after calibration
    fit_part, judge_part = slice(0, 2000), slice(2000, None)
    cal = Calibration.fit_affine(raw[fit_part], truth[fit_part])
    shown = cal.apply(raw[judge_part])
    conf = np.array([cal.confidence(v, a) for v, a in shown])
    right = ((shown >= 0.5) == (truth[judge_part] >= 0.5)).all(1)
    honest = reliability(conf, right, simulations=50)
    assert honest["ece"] < 0.05 and honest["ece"] < 3 * honest["ece_if_calibrated"]
    cal.sigma_valence = cal.sigma_arousal = 0.01  # an overconfident model...
    overconfident = np.array([cal.confidence(v, a) for v, a in shown])
    assert reliability(overconfident, right)["ece"] > 0.1  # ...is caught by the same measure


def test_a_calibration_round_trips_through_its_dict_and_old_configs_still_load():
    raw, truth = np.array([[0.1, 0.2], [0.3, 0.5], [0.2, 0.9]]), np.array([[0.4, 0.3], [0.7, 0.6], [0.5, 0.8]])
    cal = Calibration.fit_affine(raw, truth)
    again = Calibration.from_dict(cal.to_dict())
    assert again.confidence(0.7, 0.2) == pytest.approx(cal.confidence(0.7, 0.2))
    np.testing.assert_allclose(again.apply(raw), cal.apply(raw))
    old = Calibration.from_dict(
        {"pivot_valence": 0.4, "pivot_arousal": 0.5, "sigma_valence": 0.1, "sigma_arousal": 0.1}
    )
    np.testing.assert_allclose(old.apply([[0.4, 0.5]]), [[0.5, 0.5]])


def test_judging_on_listeners_reports_every_figure_from_held_out_fits():
    rng = np.random.default_rng(2)
    truth = np.clip(0.6 + 0.1 * rng.standard_normal((100, 2)), 0, 1)
    raw = truth * 0.5 + 0.015 * rng.standard_normal(truth.shape)  # r about 0.95
    folds = [(np.setdiff1d(np.arange(100), np.arange(k, 100, 5)), np.arange(k, 100, 5)) for k in range(5)]
    centre = (0.62, 0.55)
    cal, metrics, shown = judge.judge_on_listeners(raw, truth, folds, np.median(raw, 0), centre)
    for key in (
        "r_valence",
        "r_arousal",
        "ccc_valence",
        "ccc_arousal",
        "mae_valence",
        "accuracy",
        "macro_f1",
        "ece",
        "accuracy_midpoint",
    ):
        assert np.isfinite(metrics[key]), key
    assert metrics["r_valence"] > 0.8
    assert shown.shape == truth.shape and cal.scale_valence > 1.5  # the shrunk outputs were spread back out
    np.testing.assert_allclose(cal.apply(np.median(raw, 0)[None])[0], centre)  # the median lands on the centre
    assert sum(metrics["said"]) == 100 and min(metrics["said"]) > 10  # around the centre, every mood is said


def test_moods_named_around_the_centre_are_scored_against_the_same_centre():
    shown = np.array([[0.55, 0.5], [0.7, 0.7]])
    truth = np.array([[0.58, 0.52], [0.65, 0.6]])
    scores = judge.score_listeners(shown, truth, (0.6, 0.55))
    # clip 0: shown sad, its truth sad around the centre but happy at the midpoint; clip 1: happy, both ways
    assert scores["said"] == [1, 0, 1, 0] and scores["accuracy"] == 1.0 and scores["accuracy_midpoint"] == 0.5
    assert judge.score_4q(shown, [2, 0], (0.6, 0.55))["accuracy"] == 1.0
