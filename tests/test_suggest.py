"""What to rate next: synthetic raters reach a balanced, fully rated set sooner than in random
order, every suggestion says why, and the database path works on SQLite and PostgreSQL with
several raters at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from helpers_labelling import engine, tone  # noqa: F401 (engine: a fixture on every backend)

from emotionet.mood import MOODS, mood_of
from emotionet.team import labelling as lab
from emotionet.team import predictions as stored
from emotionet.team import suggest as sg
from emotionet.team.storage import AudioStore

CENTRE = (0.6, 0.57)
POINT = {"happy": (0.75, 0.75), "aggressive": (0.4, 0.8), "sad": (0.4, 0.35), "calm": (0.75, 0.4)}


def simulate(order: str, seed: int, per_mood: int = 4, target: int = 3) -> int:
    """Ratings until the set holds `per_mood` tracks of every mood (by the team's mean) with
    `target` ratings each. 80 tracks, mostly happy (as most music is), four raters taking turns;
    the models guess each track's mood right 70% of the time."""
    rng = np.random.default_rng(seed)
    truth = ["happy"] * 40 + ["calm"] * 24 + ["aggressive"] * 10 + ["sad"] * 6
    rng.shuffle(truth)
    states = []
    for i, mood in enumerate(truth):
        guess = mood if rng.random() < 0.7 else rng.choice([m for m in MOODS if m != mood])
        v, a = POINT[guess]
        states.append(
            sg.TrackState(
                f"t{i:02d}",
                models={
                    "pretrained": {
                        "valence": v,
                        "arousal": a,
                        "mood": guess,
                        "confidence": float(rng.uniform(0.3, 0.9)),
                    }
                },
            )
        )
    ratings: dict[str, list] = {s.hash: [] for s in states}
    raters = [f"r{k}" for k in range(4)]
    done = {r: set() for r in raters}
    shuffled = {r: list(rng.permutation(len(states))) for r in raters}
    for count in range(1, 4 * len(states) + 1):
        rater = raters[(count - 1) % len(raters)]
        if order == "suggested":
            choice = sg.rank(states, done[rater], target, CENTRE)[0].track_hash
        else:
            choice = next(states[i].hash for i in shuffled[rater] if states[i].hash not in done[rater])
        i = int(choice[1:])
        v, a = np.clip(np.array(POINT[truth[i]]) + 0.05 * rng.standard_normal(2), 0, 1)
        ratings[choice].append((v, a))
        done[rater].add(choice)
        state = states[i]
        values = np.array(ratings[choice])
        state.n_ratings, state.mean = len(values), tuple(values.mean(0))
        state.spread = tuple(values.std(0, ddof=1)) if len(values) > 1 else None
        complete = [mood_of(*s.mean, CENTRE) for s in states if s.n_ratings >= target]
        if all(complete.count(m) >= per_mood for m in MOODS):
            return count
    return 4 * len(states) + 1


def test_suggested_order_reaches_a_balanced_fully_rated_set_in_far_fewer_ratings_than_random():
    suggested = [simulate("suggested", seed) for seed in range(5)]
    shuffled = [simulate("random", seed) for seed in range(5)]
    # 16 tracks x 3 ratings is the least it can take; random order wanders through the common moods
    assert min(suggested) >= 48
    assert np.median(suggested) < 0.5 * np.median(shuffled), (suggested, shuffled)
    assert max(suggested) < min(shuffled)


def test_tracks_below_the_target_come_first_scarce_moods_and_started_tracks_before_new_ones():
    lead = lambda mood, confidence=0.8: {
        "pretrained": {
            "valence": 0.7,
            "arousal": 0.7,
            "mood": mood,  # noqa: E731
            "confidence": confidence,
        }
    }
    states = [
        sg.TrackState("done3", 3, (0.8, 0.8), (0.3, 0.02), lead("happy")),  # at the target: raters disagree
        sg.TrackState("happy1", 1, (0.8, 0.8), None, lead("happy")),
        sg.TrackState("sadnew", 0, None, None, lead("sad", 0.3)),
        sg.TrackState("happynew", 0, None, None, lead("happy")),
        sg.TrackState("mine", 1, (0.8, 0.3), None, lead("calm")),
    ]
    order = sg.rank(states, done={"mine"}, target=3, centre=CENTRE)
    assert [s.track_hash for s in order] == ["sadnew", "happy1", "happynew", "done3"]
    sad, happy1, _, done3 = order
    assert sad.needs_ratings and not done3.needs_ratings
    assert (
        "no ratings yet" in sad.why
        and "sad tracks are scarce so far (0 of the 3 tracks being rated are sad; sad by the models' guess)" in sad.why
    )
    assert "the headline model is unsure (30% sure it is sad)" in sad.why
    assert "has 1 of the 3 ratings it needs" in happy1.why
    assert "raters disagree on its valence (spread 0.30)" in done3.why
    blind = sg.rank(states, done={"mine"}, target=3, centre=CENTRE, blind=True)  # what a rater reads on Label
    assert [s.track_hash for s in blind] == [s.track_hash for s in order]  # the same order, in blind words:
    assert blind[0].why == "no ratings yet; its mood looks scarce in the set so far; the headline model is unsure of it"
    assert blind[-1].why == "raters disagree on it"
    for suggestion in blind:  # no mood of the team's mean or the models' guess, no spread, no confidence
        assert not any(word in suggestion.why for word in ("happy", "sad", "calm", "aggressive", "0.", "%"))


def test_among_complete_tracks_the_least_clear_comes_first():
    models = lambda *moods: {
        f"m{i}": {"valence": 0.5, "arousal": 0.5, "mood": m, "confidence": 0.9}  # noqa: E731
        for i, m in enumerate(moods)
    }
    states = [
        sg.TrackState("clear", 3, (0.8, 0.8), (0.02, 0.02), models("happy", "happy"), headline="m0"),
        sg.TrackState("models", 3, (0.8, 0.8), (0.02, 0.02), models("happy", "sad"), headline="m0"),
        sg.TrackState("raters", 3, (0.8, 0.8), (0.25, 0.05), models("happy", "happy"), headline="m0"),
    ]
    order = sg.rank(states, set(), 3, CENTRE)
    assert [s.track_hash for s in order] == ["raters", "models", "clear"]
    assert "the models disagree (happy vs sad)" in order[1].why
    assert order[2].why == "the next track in the set"


class FakePredictor:
    """Answers from the tone's frequency, so that tests know what each track 'sounds' like."""

    headline = "pretrained"

    def __init__(self, moods):
        self.moods, self.calls = moods, []

    def analyze(self, path, **_):
        from types import SimpleNamespace

        from emotionet.predict import Prediction

        self.calls.append(path)
        mood = self.moods[path.stem]
        v, a = POINT[mood]
        p = Prediction(valence=v, arousal=a, mood=mood, confidence=0.8)
        return SimpleNamespace(headline="pretrained", predictions={"pretrained": p})


def test_suggest_reads_ratings_and_stored_answers_with_several_raters_at_once(engine, tmp_path):
    store = AudioStore(tmp_path / "audio")
    tracks = [lab.add_track(engine, store, tone(300 + 10 * i), f"t{i}.wav", added_by="ann")[0] for i in range(6)]
    moods = {t.hash: m for t, m in zip(tracks, ["happy", "happy", "happy", "sad", "calm", "happy"])}
    predictor = FakePredictor(moods)
    assert stored.predict_missing(engine, store, predictor, "k1", [t.hash for t in tracks]) == {}
    assert stored.predict_missing(engine, store, predictor, "k1", [t.hash for t in tracks]) == {}
    assert len(predictor.calls) == 6  # stored once per track and models key
    assert stored.stored(engine, "k2") == {}  # another model version has its own answers

    # three raters save at once, each their first suggestion
    def rate(rater):
        first = sg.suggest(engine, rater, "k1", centre=CENTRE)[0]
        lab.save_rating(engine, first.track_hash, rater, *POINT[moods[first.track_hash]])
        return first.track_hash

    with ThreadPoolExecutor(3) as pool:
        picked = list(pool.map(rate, ["ann", "bob", "cy"]))
    assert len(lab.current_ratings(engine)) == 3
    # a fourth rater is steered to a track of the scarcest mood among the tracks started so far
    order = sg.suggest(engine, "dee", "k1", centre=CENTRE)
    assert len(order) == 6 and [s.needs_ratings for s in order] == sorted(
        (s.needs_ratings for s in order), reverse=True
    )
    counts = {m: sum(1 for h in set(picked) if moods[h] == m) for m in MOODS}  # the same track, if they raced
    assert counts[moods[order[0].track_hash]] == min(counts.values()), (counts, order[0].why)
    # a rater who has rated everything gets nothing
    for t in tracks:
        lab.save_rating(engine, t.hash, "eve", 0.5, 0.5)
    assert sg.suggest(engine, "eve", "k1", centre=CENTRE) == []


def test_a_track_without_audio_is_reported_not_fatal(engine, tmp_path):
    store = AudioStore(tmp_path / "audio")
    track, _ = lab.add_track(engine, store, tone(500), "gone.wav", added_by="ann")
    store.find(track.hash).unlink()
    errors = stored.predict_missing(engine, store, FakePredictor({}), "k1", [track.hash])
    assert "missing" in errors[track.hash]
    assert [s.track_hash for s in sg.suggest(engine, "ann", "k1")] == [track.hash]  # still suggested, from ratings


def test_the_rater_view_says_who_rates_high_and_who_ranks_tracks_like_the_team():
    import pandas as pd

    from emotionet.team.raters import rater_view

    rng = np.random.default_rng(0)
    truth = rng.uniform(0.2, 0.8, (12, 2))
    rows = []
    for rater, (shift, noise) in {
        "high": (0.15, 0.02),
        "fair": (0.0, 0.02),
        "fair2": (0.0, 0.02),
        "random": (0.0, None),
    }.items():
        for i, (v, a) in enumerate(truth):
            if noise is None:
                v, a = rng.uniform(0, 1, 2)
            else:
                v, a = np.clip(
                    [v + shift + noise * rng.standard_normal(), a + shift + noise * rng.standard_normal()], 0, 1
                )
            rows.append({"track_hash": f"t{i}", "rater": rater, "valence": v, "arousal": a})
    rows.append({"track_hash": "solo", "rater": "fair", "valence": 0.9, "arousal": 0.9})  # nobody else rated it
    view = rater_view(pd.DataFrame(rows)).set_index("rater")
    assert view.loc["fair", "n_tracks"] == 13 and view.loc["fair", "n_shared"] == 12
    assert view.loc["high", "valence_offset"] > 0.12 and view.loc["high", "arousal_offset"] > 0.12  # rates high
    assert abs(view.loc["fair", "valence_offset"]) < 0.08
    assert view.loc["high", "valence_r"] > 0.6  # high, but ranks the tracks as the others do
    assert view.loc["random", "valence_r"] < 0.2 and view.loc["random", "mae"] > view.loc["high", "mae"]
    assert rater_view(pd.DataFrame(columns=["track_hash", "rater", "valence", "arousal"])).empty
