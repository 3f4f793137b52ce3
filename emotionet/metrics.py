"""Metrics on the 0-1 scale: MSE, MAE, R² per dimension, quadrant accuracy, macro-F1, confusion."""

from __future__ import annotations

import numpy as np

from .mood import MOODS, mood_index


def regression_metrics(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """`predicted`, `truth`: (n, 2) valence/arousal."""
    predicted, truth = np.asarray(predicted, float), np.asarray(truth, float)
    error = predicted - truth
    out = {"mse": float((error**2).mean()), "mae": float(np.abs(error).mean())}
    for i, axis in enumerate(("valence", "arousal")):
        variance = ((truth[:, i] - truth[:, i].mean()) ** 2).sum()
        out[f"r2_{axis}"] = float(1 - (error[:, i] ** 2).sum() / variance) if variance > 0 else float("nan")
        out[f"mae_{axis}"] = float(np.abs(error[:, i]).mean())
    return out


def classification_metrics(predicted_class, true_class, n_classes: int = 4) -> dict:
    predicted_class, true_class = np.asarray(predicted_class, int), np.asarray(true_class, int)
    confusion = np.zeros((n_classes, n_classes), int)  # rows: truth, columns: predicted
    np.add.at(confusion, (true_class, predicted_class), 1)
    f1s = []
    for k in range(n_classes):
        tp = confusion[k, k]
        precision = tp / confusion[:, k].sum() if confusion[:, k].sum() else 0.0
        recall = tp / confusion[k].sum() if confusion[k].sum() else 0.0
        if confusion[k].sum() or confusion[:, k].sum():
            f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return {
        "accuracy": float((predicted_class == true_class).mean()) if len(true_class) else float("nan"),
        "macro_f1": float(np.mean(f1s)) if f1s else float("nan"),
        "confusion": confusion.tolist(),
        "labels": list(MOODS[:n_classes]),
    }


def evaluate_predictions(predicted: np.ndarray, truth: np.ndarray, true_class, thresholds=(0.5, 0.5)) -> dict:
    """All metrics for calibrated (n, 2) predictions; the predicted mood is their quadrant."""
    predicted = np.asarray(predicted, float)
    classes = mood_index(predicted[:, 0], predicted[:, 1], thresholds)
    return {**regression_metrics(predicted, truth), **classification_metrics(classes, true_class)}


def agreement_metrics(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """Pearson r and Lin's concordance correlation (CCC) per axis: ranking, and ranking on the right scale."""
    predicted, truth = np.asarray(predicted, float), np.asarray(truth, float)
    out = {}
    for i, axis in enumerate(("valence", "arousal")):
        p, t = predicted[:, i], truth[:, i]
        cov = ((p - p.mean()) * (t - t.mean())).mean()
        out[f"r_{axis}"] = float(cov / (p.std() * t.std())) if p.std() > 0 and t.std() > 0 else float("nan")
        out[f"ccc_{axis}"] = float(2 * cov / (p.var() + t.var() + (p.mean() - t.mean()) ** 2))
    return out


def reliability(confidence, correct, bins: int = 10, simulations: int = 0) -> dict:
    """Stated confidence against how often the mood was right: per equal-width bin the mean
    confidence, the accuracy and the count, and the expected calibration error (ECE: the
    count-weighted mean gap). With `simulations`, also ``ece_if_calibrated``: the mean ECE of a
    perfectly calibrated model with these confidences on this many clips (outcomes drawn with the
    stated probabilities) — the ECE that sampling noise alone produces, to compare against."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    if simulations:
        rng = np.random.default_rng(0)
        noise = [
            reliability(confidence, rng.random(len(confidence)) < confidence, bins)["ece"] for _ in range(simulations)
        ]
        return {**reliability(confidence, correct, bins), "ece_if_calibrated": float(np.mean(noise))}
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        inside = which == b
        if not inside.any():
            continue
        conf, acc = float(confidence[inside].mean()), float(correct[inside].mean())
        rows.append({"confidence": conf, "accuracy": acc, "count": int(inside.sum())})
        ece += inside.mean() * abs(conf - acc)
    return {"ece": float(ece), "bins": rows}
