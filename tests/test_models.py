"""Models: the CNNs accept any clip length; the array-stored SVR predicts exactly as sklearn's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.svm import SVR

from emotionet.models import SVR_SETTINGS, CNNConfig, EmotionCNN, KernelRegressor, SVRBaseline


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("frames", [8, 43, 431, 1938])
def test_cnn_accepts_any_number_of_frames(recurrent, frames):
    torch.manual_seed(0)
    model = EmotionCNN(CNNConfig(recurrent=recurrent)).eval()
    with torch.inference_mode():
        values, logits = model(torch.randn(2, 3, 13, frames))
    assert values.shape == (2, 2) and logits.shape == (2, 4)
    assert torch.all((values > 0) & (values < 1))


def test_cnn_follows_the_report_shape():
    model = EmotionCNN()
    convs = [m for m in model.conv if isinstance(m, torch.nn.Conv2d)]
    pools = [m for m in model.conv if isinstance(m, torch.nn.MaxPool2d)]
    linears = [m for m in model.head if isinstance(m, torch.nn.Linear)]
    assert len(convs) == 2 and len(pools) == 2 and len(linears) == 3
    assert isinstance(list(model.head)[-2], torch.nn.Dropout)  # dropout before the last layer


@pytest.mark.parametrize("target", ["valence", "arousal"])
def test_kernel_regressor_reproduces_sklearn(target):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((80, 6)), rng.uniform(0, 1, 80)
    svr = SVR(**SVR_SETTINGS[target]).fit(x, y)
    query = rng.standard_normal((10, 6))
    np.testing.assert_allclose(KernelRegressor.from_sklearn(svr).predict(query), svr.predict(query), atol=1e-9)


def test_svr_baseline_round_trips_through_plain_arrays():
    rng = np.random.default_rng(2)
    x, targets = rng.standard_normal((60, 6)), rng.uniform(0.2, 0.8, (60, 2))
    model = SVRBaseline(("mfcc",), 3).fit(x, targets)
    arrays = model.to_arrays()
    assert all(a.dtype != object for a in arrays.values())  # nothing that needs a pickle
    again = SVRBaseline.from_arrays(arrays)
    np.testing.assert_allclose(again.predict(x[:5]), model.predict(x[:5]))
    assert again.feature_names == ("mfcc",) and again.rows == 3


def test_every_shipped_model_has_one_name_in_the_table(shipped_checkpoints):
    """models.names is the one table: every model the shipped checkpoints hold has a shown name there
    (not its raw key), and the display order, labels and titles are read from the same rows."""
    import json

    from emotionet.models import MODEL_LABELS, MODEL_ORDER, MODEL_TITLES, MODELS, label

    config = json.loads((shipped_checkpoints / "config.json").read_text())
    shipped = [*config["cnns"], *config["svrs"], *(["pretrained"] if config.get("pretrained") else [])]
    assert shipped and all(name in MODEL_ORDER and label(name) != name for name in shipped), shipped
    assert MODEL_ORDER == tuple(m.key for m in MODELS) == tuple(MODEL_LABELS) == tuple(MODEL_TITLES)
    assert len(set(MODEL_LABELS.values())) == len(MODELS)  # no two models share a shown name
    assert label("svr_all") == "SVR, all features" and label("unknown") == "unknown"
