"""Damaged models never give a mood: files are hashed and checked, outputs checked finite,
a damaged config is named, JSON output stays valid, a missing musicnn checkpoint is said."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from emotionet.models import checkpoints
from emotionet.models.checkpoints import CheckpointError, ModelBundle
from emotionet.predict import ModelOutputError, Predictor
from tests.conftest import REPO, synth, write_audio


@pytest.fixture
def copy(tmp_path, shipped_checkpoints):
    """A copy of the shipped checkpoints to damage."""
    return shutil.copytree(shipped_checkpoints, tmp_path / "checkpoints")


def run_cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emotionet", *args], cwd=REPO, capture_output=True, text=True, timeout=300, env=env
    )


def strict_json(line: str):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(line, parse_constant=refuse)


def set_one_weight(path, value):
    state = torch.load(path, weights_only=True)
    first = next(k for k, v in state.items() if v.dtype.is_floating_point)
    state[first].view(-1)[0] = value
    torch.save(state, path)


def test_the_shipped_checkpoints_record_the_hash_of_every_model_file(shipped_checkpoints):
    config = json.loads((shipped_checkpoints / "config.json").read_text())
    assert set(config["sha256"]) == set(checkpoints.model_files(config))
    for name, digest in config["sha256"].items():
        assert checkpoints.file_sha256(shipped_checkpoints / name) == digest


@pytest.mark.parametrize("value", [float("nan"), 1e30])
def test_a_changed_weight_is_refused_naming_the_file(copy, value):
    set_one_weight(copy / "cnn.pt", value)
    with pytest.raises(CheckpointError, match=r"cnn\.pt is damaged or was changed"):
        ModelBundle.load(copy)


def test_nan_weights_are_refused_even_with_matching_hashes(copy):
    set_one_weight(copy / "cnn.pt", float("nan"))
    checkpoints.record_hashes(copy)  # someone re-hashed a damaged file
    with pytest.raises(CheckpointError, match=r"cnn\.pt is damaged: .* NaN"):
        ModelBundle.load(copy)


def test_rehash_records_an_intended_change_and_saving_records_hashes(copy, tmp_path, cli_run):
    set_one_weight(copy / "cnn.pt", 0.123)
    with pytest.raises(CheckpointError):
        ModelBundle.load(copy)
    result = cli_run("rehash-checkpoints", "--checkpoints", str(copy))
    assert result.returncode == 0, result.stderr
    bundle = ModelBundle.load(copy)
    saved = bundle.save(tmp_path / "resaved")
    assert set(json.loads((saved / "config.json").read_text())["sha256"]) == set(
        checkpoints.model_files(json.loads((saved / "config.json").read_text()))
    )
    ModelBundle.load(saved)


def test_a_garbage_config_is_a_clear_error_naming_the_file(copy, tmp_path, cli_run):
    (copy / "config.json").write_text("{ this is not json")
    with pytest.raises(CheckpointError, match=r"config\.json is damaged"):
        ModelBundle.load(copy)
    song = write_audio(tmp_path / "a.wav", synth(3.0))
    result = cli_run("analyze", str(song), "--checkpoints", str(copy), "--json")
    assert result.returncode == 1 and "config.json is damaged" in result.stderr and "Traceback" not in result.stderr
    (copy / "config.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match=r"config\.json is damaged"):
        ModelBundle.load(copy)
    (copy / "config.json").write_text('{"cnns": {}, "svrs": []}')  # valid JSON, but not these models
    with pytest.raises(CheckpointError, match=r"config\.json"):
        ModelBundle.load(copy)


def test_a_non_finite_model_output_is_an_error_naming_the_model_and_json_stays_valid(copy, tmp_path, cli_run):
    config = json.loads((copy / "config.json").read_text())
    config["calibration"]["cnn"]["pivot_valence"] = float("nan")  # re-hashed by hand: the outputs are checked too
    config[checkpoints.SETTINGS_HASH] = checkpoints.settings_sha256(config)
    (copy / "config.json").write_text(json.dumps(config))
    song = write_audio(tmp_path / "a.wav", synth(4.0))
    with pytest.raises(ModelOutputError, match="The cnn model"):
        Predictor.load(copy, pretrained=False).analyze(song)
    result = cli_run("analyze", str(song), "--checkpoints", str(copy), "--json", "--workers", "1")
    assert result.returncode == 1
    [line] = result.stdout.splitlines()
    assert "The cnn model" in strict_json(line)["error"]


def test_json_output_never_carries_a_bare_nan():
    from emotionet.cli import to_json

    assert strict_json(to_json({"r2": float("nan"), "x": [1.0, float("inf")]})) == {"r2": None, "x": [1.0, None]}


def test_a_missing_musicnn_checkpoint_says_the_headline_model_is_unavailable(tmp_path, shipped_checkpoints):
    """A musicnn install without its .index file: the analysis goes on without the pretrained model
    and says so (Predictor.unavailable for the pages, warnings in the analysis and the CLI)."""
    fake = tmp_path / "site" / "musicnn"
    for name in ("MSD_musicnn", "MTT_musicnn"):
        (fake / name).mkdir(parents=True)
        (fake / name / "config.json").write_text("{}")
    (fake / "__init__.py").write_text("")
    song = write_audio(tmp_path / "a.wav", synth(4.0))
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path / "site")}
    result = run_cli("analyze", str(song), "--json", "--workers", "1", env=env)
    assert result.returncode == 0, result.stderr
    out = strict_json(result.stdout)
    assert "pretrained" not in out and out["headline"] == "cnn"
    assert any("headline model" in w and "unavailable" in w and "no checkpoint" in w for w in out["warnings"])
    code = "from emotionet.predict import Predictor; p = Predictor.load();print(p.unavailable['pretrained'])"
    shown = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    assert "unavailable" in shown.stdout, shown.stderr


def test_analysis_json_lists_warnings(tmp_path, shipped_checkpoints, cli_run):
    y = synth(4.0)
    song = write_audio(tmp_path / "loud.wav", (y * 1e6 / np.max(np.abs(y))).astype(np.float32), subtype="FLOAT")
    result = cli_run("analyze", str(song), "--json", "--workers", "1")
    assert result.returncode == 0, result.stderr
    out = strict_json(result.stdout)
    assert any("scaled" in w for w in out["warnings"]) and out["cnn"]["mood"] in ("happy", "aggressive", "sad", "calm")
