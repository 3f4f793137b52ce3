"""Learn from the team: refit the headline's light head on the team's mean ratings, judged by
artist-grouped CV inside the team's set, stored as its own hashed checkpoint folder and used
only once a person accepts it."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from emotionet.models.checkpoints import ModelBundle, accept, accepted, checkpoint_dir, file_sha256
from emotionet.team import adapt as ad
from tests.conftest import REPO, synth, write_audio


@pytest.fixture(scope="module")
def bundle(shipped_checkpoints):
    return ModelBundle.load(shipped_checkpoints)


def team_set(bundle, n=30, shift=(0.0, 0.0), noise=0.02, seed=0, artists=6) -> ad.TeamSet:
    """Tracks with plausible head inputs whose team means are the shipped answer moved by `shift`."""
    rng = np.random.default_rng(seed)
    d = bundle.listener.mean.shape[0] - 12
    x = bundle.listener.mean[:d] + 0.5 * bundle.listener.std[:d] * rng.standard_normal((n, d))
    cues = bundle.listener.mean[d:] + 0.5 * bundle.listener.std[d:] * rng.standard_normal((n, 12))
    truth = np.clip(ad._shown(bundle, bundle.listener, x, cues) + shift + noise * rng.standard_normal((n, 2)), 0, 1)
    ids = [f"t{i}" for i in range(n)]
    return ad.TeamSet(
        ids, [f"Track {i}" for i in range(n)], [f"artist {i % artists}" for i in range(n)], truth, x, cues
    )


def test_a_team_that_hears_more_positive_music_gets_a_head_that_learned_it(bundle):
    team = team_set(bundle, shift=(0.1, -0.05))
    result = ad.adapt(bundle, team, "shipped")
    assert result.helps and result.chosen != "shipped"
    before, after = result.candidates["shipped"], result.candidates[result.chosen]
    assert before["mae"] > 0.06 and after["mae"] < 0.03  # held out: a fit on the other artists' tracks
    frame = result.per_track
    assert np.mean(frame.after_valence - frame.before_valence) == pytest.approx(0.1, abs=0.02)
    # the correction lives in the listener head: the adapted head alone reproduces it on every track
    shown = ad._shown(bundle, result.head, team.x, team.cues)
    assert np.abs(shown - team.truth).mean() < 0.03


def test_ratings_that_only_add_noise_do_not_claim_to_help(bundle):
    helped = [ad.adapt(bundle, team_set(bundle, noise=0.06, seed=s), "shipped").helps for s in range(6)]
    assert not any(helped)


def test_too_few_tracks_or_artists_is_a_clear_error(bundle):
    with pytest.raises(ad.AdaptError, match="at least 8 rated tracks by 3 or more artists.*has 5 by 5"):
        ad.adapt(bundle, team_set(bundle, n=5, artists=5))
    with pytest.raises(ad.AdaptError, match="has 12 by 2"):
        ad.adapt(bundle, team_set(bundle, n=12, artists=2))


def test_the_adapted_model_is_its_own_hashed_folder_and_is_used_only_once_accepted(
    bundle, tmp_path, monkeypatch, shipped_checkpoints
):
    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EMOTIONET_CHECKPOINTS", raising=False)
    result = ad.adapt(bundle, team_set(bundle, shift=(0.1, 0.0)), str(shipped_checkpoints))
    folder = ad.save(result, shipped_checkpoints, made_by="test")
    assert folder.parent == tmp_path / "data" / "checkpoints" and folder.name.startswith("adapted-")
    config = json.loads((folder / "config.json").read_text())
    assert config["adapted"]["chosen"] == result.chosen and config["adapted"]["n_tracks"] == 30
    assert config["sha256"]["listener.npz"] == file_sha256(folder / "listener.npz")
    assert config["sha256"]["listener.npz"] != file_sha256(shipped_checkpoints / "listener.npz")
    for name in ("cnn.pt", "svr.npz", "pretrained.npz"):  # only the light head changed
        assert file_sha256(folder / name) == file_sha256(shipped_checkpoints / name)
    assert "Adapted to the team's ratings" in (folder / "MODEL_CARD.md").read_text()
    assert json.loads((folder / "metrics.json").read_text())["adapted"]["helps"] is True
    adapted = ModelBundle.load(folder)  # every file checked against its hash
    np.testing.assert_allclose(adapted.listener.delta, result.head.delta)
    assert adapted.mood_centre == bundle.mood_centre  # a mood keeps its meaning

    assert checkpoint_dir() == shipped_checkpoints and accepted() is None  # not used until accepted
    accept(folder, "ann")
    assert checkpoint_dir() == folder.resolve() and accepted()["accepted_by"] == "ann"
    accept(None)
    assert checkpoint_dir() == shipped_checkpoints
    # a damaged adapted file is refused at accept time, and a vanished folder falls back to the shipped models
    (folder / "listener.npz").write_bytes(b"broken")
    with pytest.raises(Exception, match="listener.npz"):
        accept(folder)
    assert checkpoint_dir() == shipped_checkpoints


def test_adapt_then_accept_from_the_command_line(tmp_path, shipped_checkpoints, cli_run):
    """A manifest of team ratings 0.12 above what the shipped model says: `adapt --accept` learns it,
    `analyze` then answers with the adapted model, and `accept --shipped` goes back."""
    env = {"EMOTIONET_DATA_DIR": str(tmp_path / "data"), "EMOTIONET_CHECKPOINTS": ""}
    kinds = ["chord", "dark", "noise", "chord", "dark", "noise", "chord", "dark", "noise"]
    paths = [write_audio(tmp_path / f"t{i}.wav", synth(6.0, kind=k, seed=i)) for i, k in enumerate(kinds)]
    before = [json.loads(line) for line in cli_run("analyze", *map(str, paths), "--json", env=env).stdout.splitlines()]
    with open(tmp_path / "manifest.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "valence", "arousal", "artist", "song_id"])
        for i, (path, b) in enumerate(zip(paths, before)):
            p = b["pretrained"]
            writer.writerow([path.name, min(p["valence"] + 0.12, 1), p["arousal"], f"band {i % 3}", f"s{i}"])
    done = cli_run("adapt", str(tmp_path / "manifest.csv"), "--accept", "--json", env=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["helps"] and out["accepted"] and out["n_tracks"] == 9 and out["n_artists"] == 3
    assert out["candidates"][out["chosen"]]["mae"] < out["candidates"]["shipped"]["mae"]
    after = json.loads(cli_run("analyze", str(paths[0]), "--json", env=env).stdout)
    assert after["pretrained"]["valence"] == pytest.approx(before[0]["pretrained"]["valence"] + 0.12, abs=0.05)
    assert after["cnn"] == before[0]["cnn"]  # the report's models are untouched
    assert cli_run("accept", "--shipped", env=env).returncode == 0
    again = json.loads(cli_run("analyze", str(paths[0]), "--json", env=env).stdout)
    assert again["pretrained"]["valence"] == pytest.approx(before[0]["pretrained"]["valence"], abs=1e-4)
    bad = cli_run("adapt", str(tmp_path / "missing.csv"), env=env)
    assert bad.returncode == 1 and "error:" in bad.stderr


def test_results_says_when_the_app_uses_an_adapted_model(bundle, tmp_path, monkeypatch, shipped_checkpoints):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EMOTIONET_DATA_DIR", str(tmp_path / "data"))
    result = ad.adapt(bundle, team_set(bundle, shift=(0.1, 0.0)), str(shipped_checkpoints))
    folder = ad.save(result, shipped_checkpoints, made_by="test")
    monkeypatch.setenv("EMOTIONET_CHECKPOINTS", str(folder))
    at = AppTest.from_file(str(REPO / "app_pages" / "results.py"), default_timeout=60).run()
    assert not at.exception
    assert "adapted to the team's ratings (30 tracks by 6 artists" in at.warning[0].value
    monkeypatch.setenv("EMOTIONET_CHECKPOINTS", str(shipped_checkpoints))
    at = AppTest.from_file(str(REPO / "app_pages" / "results.py"), default_timeout=60).run()
    assert not any("adapted to the team" in w.value for w in at.warning)
