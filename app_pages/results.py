"""Results: what the training run measured, read from checkpoints/metrics.json."""

import pandas as pd
import streamlit as st

from emotionet import model_card, plots, webapp

st.title("📊 Results")
try:
    metrics = webapp.metrics()
except FileNotFoundError:
    st.error("No metrics.json in the checkpoint folder: run `python train.py` to train the models.")
    st.stop()

val, default = metrics["validation"], metrics["default_cnn"]
headline = metrics.get("headline", "cnn")
headline = default if headline == "cnn" else headline
facts = metrics["trained_on"]
st.caption(f"Validation on {facts['n_validation']} clips by artists unseen in training "
           f"({facts['n_train']} training clips, {facts['n_artists']} artists, source: {facts['source']}).")  # fmt: skip

for column, name in zip(st.columns(len(val)), val):
    tag = " ⭐ headline" if name == headline else " ✅ shipped" if name == default else ""
    column.metric(plots.label(name) + tag, f"{val[name]['accuracy']:.1%}", help="quadrant accuracy on validation")

st.markdown("#### CNN vs SVR on validation")
table = pd.DataFrame({
    plots.label(name): {"accuracy": m["accuracy"], "macro-F1": m["macro_f1"], "MSE": m["mse"], "MAE": m["mae"],
                        "R² valence": m["r2_valence"], "R² arousal": m["r2_arousal"]}
    for name, m in val.items()
}).T  # fmt: skip
st.dataframe(table.style.format("{:.3f}").highlight_max(subset=["accuracy", "macro-F1"], color="#d9f2dc"), width="stretch")

st.markdown("#### Training curves")
for name, history in metrics["history"].items():
    loss_col, mae_col = st.columns(2)
    loss_col.plotly_chart(plots.training_curves(history, "loss", f"{plots.label(name)}: loss"), width="stretch")
    mae_col.plotly_chart(plots.training_curves(history, "mae", f"{plots.label(name)}: MAE"), width="stretch")

st.markdown("#### Confusion matrices")
for column, name in zip(st.columns(len(val)), val):
    column.plotly_chart(plots.confusion_heatmap(val[name]["confusion"], plots.label(name)), width="stretch")

st.markdown("#### Predictions against truth")
model = st.selectbox("Model", list(val), index=list(val).index(headline), format_func=plots.label)
rows = metrics["predictions"]
truth_col, dist_col = st.columns([3, 2])
truth_col.plotly_chart(plots.predictions_vs_truth(rows, model), width="stretch")
with dist_col:
    st.markdown("**Predicted moods against the true distribution**")
    st.plotly_chart(plots.mood_distribution(rows, model), width="stretch")
    st.caption("Each line joins a clip's prediction (filled) to its truth (open circle).")

st.markdown(model_card.render(metrics))
