"""The report's support vector regression baseline.

SVRBaseline: RBF C=10 for valence and polynomial degree 3 C=10 for arousal, on standardised
feature statistics. It is stored as plain arrays and parameters (support vectors, dual
coefficients, kernel settings), never as a pickle; scikit-learn is needed to fit, not to predict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..features import summary_statistics

SVR_SETTINGS = {  # the report's: per target, kernel settings for sklearn.svm.SVR
    "valence": {"kernel": "rbf", "C": 10.0, "gamma": "scale"},
    "arousal": {"kernel": "poly", "degree": 3, "C": 10.0, "gamma": "scale", "coef0": 0.0},
}


@dataclass
class KernelRegressor:
    """A fitted SVR as arrays: f(x) = sum_i dual_i K(sv_i, x) + intercept."""

    kernel: str
    gamma: float
    degree: int
    coef0: float
    support_vectors: np.ndarray
    dual_coef: np.ndarray
    intercept: float

    @classmethod
    def from_sklearn(cls, svr) -> "KernelRegressor":
        return cls(
            svr.kernel,
            float(svr._gamma),
            int(svr.degree),
            float(svr.coef0),
            svr.support_vectors_.astype(np.float64),
            svr.dual_coef_.ravel().astype(np.float64),
            float(svr.intercept_[0]),
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, np.float64))
        if self.kernel == "rbf":
            sq = (x**2).sum(1)[:, None] + (self.support_vectors**2).sum(1)[None] - 2 * x @ self.support_vectors.T
            k = np.exp(-self.gamma * np.maximum(sq, 0))
        elif self.kernel == "poly":
            k = (self.gamma * x @ self.support_vectors.T + self.coef0) ** self.degree
        else:
            raise ValueError(f"Unsupported kernel {self.kernel!r}")
        return k @ self.dual_coef + self.intercept


@dataclass
class SVRBaseline:
    """Valence and arousal SVRs on standardised statistics of the given features and rows."""

    feature_names: tuple[str, ...]
    rows: int | None  # first rows per feature; the report used the first 3 MFCCs
    mean: np.ndarray = field(default=None)
    std: np.ndarray = field(default=None)
    valence: KernelRegressor | None = None
    arousal: KernelRegressor | None = None

    def inputs(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return summary_statistics(features, self.feature_names, self.rows)

    def fit(self, x: np.ndarray, targets: np.ndarray) -> "SVRBaseline":
        from sklearn.svm import SVR

        self.mean, self.std = x.mean(0), np.maximum(x.std(0), 1e-6)
        z = (x - self.mean) / self.std
        self.valence = KernelRegressor.from_sklearn(SVR(**SVR_SETTINGS["valence"]).fit(z, targets[:, 0]))
        self.arousal = KernelRegressor.from_sklearn(SVR(**SVR_SETTINGS["arousal"]).fit(z, targets[:, 1]))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, inputs) statistics -> (n, 2) raw valence/arousal, clipped to 0-1."""
        z = (np.atleast_2d(x) - self.mean) / self.std
        return np.clip(np.stack([self.valence.predict(z), self.arousal.predict(z)], 1), 0.0, 1.0)

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "mean": self.mean,
            "std": self.std,
            "features": np.array(self.feature_names),
            "rows": np.array(-1 if self.rows is None else self.rows),
        }
        for target in ("valence", "arousal"):
            reg: KernelRegressor = getattr(self, target)
            arrays[f"{target}_kernel"] = np.array(reg.kernel)
            arrays[f"{target}_params"] = np.array([reg.gamma, reg.degree, reg.coef0, reg.intercept])
            arrays[f"{target}_support_vectors"] = reg.support_vectors
            arrays[f"{target}_dual_coef"] = reg.dual_coef
        return arrays

    @classmethod
    def from_arrays(cls, arrays) -> "SVRBaseline":
        rows = int(arrays["rows"])
        model = cls(
            tuple(str(n) for n in arrays["features"]), None if rows < 0 else rows, arrays["mean"], arrays["std"]
        )
        for target in ("valence", "arousal"):
            gamma, degree, coef0, intercept = arrays[f"{target}_params"]
            setattr(
                model,
                target,
                KernelRegressor(
                    str(arrays[f"{target}_kernel"]),
                    float(gamma),
                    int(degree),
                    float(coef0),
                    arrays[f"{target}_support_vectors"],
                    arrays[f"{target}_dual_coef"],
                    float(intercept),
                ),
            )
        return model
