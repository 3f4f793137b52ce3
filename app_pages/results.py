"""Results: what the training run measured, read from checkpoints/metrics.json.

The page leads with the headline model's story (the best on artists it never heard), one figure per
truth named in words; every model follows in the next tab, the experts' diagnostics and the model card
after (TABS: add a section by adding a function to a tab).
"""

import pandas as pd
import streamlit as st

from emotionet.app import plots, webapp
from emotionet.models import label
from emotionet.training import model_card

SOURCES = {  # what metrics.json's trained_on.source means
    "4q": "the 4Q audio emotion dataset (Panda et al., 2018): 900 30-second AllMusic previews, 225 per quadrant, "
    "labelled by AllMusic's editors' mood tags",
    "musifeast": "MUSIFEAST-17 (van der Walle et al., 2025): 30-second clips of 17 genres, each rated by many "
    "listeners for the valence and the energy the music expresses (1–5)",
}

st.title("📊 Results")
try:
    metrics = webapp.metrics()
except FileNotFoundError:
    st.error("No metrics.json in the checkpoint folder: run `python train.py` to train the models.")
    st.stop()

val = metrics["validation"]
headline = metrics.get("headline", "cnn")
headline = metrics["default_cnn"] if headline == "cnn" or headline not in val else headline
names = webapp.ordered(val, headline)  # the headline model first
facts = metrics["trained_on"]


def scale_section() -> None:
    st.caption(webapp.scale_sentence())  # what the numbers mean, in one sentence; in full behind the expander
    with st.expander("About these numbers"):
        st.info(webapp.scale_note(), icon="📏")  # the scale of the shipped models (their config.json)


def adapted_section() -> None:
    """When the app uses a model adapted to the team's ratings, say so before any figure."""
    adapted = metrics.get("adapted")
    if not adapted:
        return
    before, after = adapted["candidates"]["shipped"], adapted["candidates"][adapted["chosen"]]
    st.warning(
        f"The app uses the headline adapted to the team's ratings ({adapted['n_tracks']} tracks by "
        f"{adapted['n_artists']} artists, {adapted['made_at']}): on the team's tracks, held out by artist, its mean "
        f"absolute error is {after['mae']:.3f} against the shipped model's {before['mae']:.3f}. The figures below "
        "are the shipped model's, measured before adapting.",
        icon="🧠",
    )


METRIC_WIDTH = 220  # px: metrics sit in rows that wrap, so no label or figure is cut on a 1024 px projector


def metric_row(items) -> None:
    """Metrics side by side, as many as fit the screen, the rest on the next line: (label, value, help)."""
    row = st.container(horizontal=True, gap="medium")
    for name, value, explanation in items:
        row.metric(name, value, help=explanation, width=METRIC_WIDTH)


COLUMN_WORDS = {  # a table's column -> (its header in words, what it measures); the experts' name stays in the help
    "4Q accuracy": (
        "mood right (editors)",
        "Share of 4Q clips whose shown mood is the editors' mood (4Q accuracy); 25% is chance.",
    ),
    "4Q macro-F1": (
        "balance over moods (editors)",
        "Macro-F1 on 4Q: the accuracy of each mood, averaged, so a model that says one mood a lot gains nothing.",
    ),
    "moods said on 4Q": (
        "moods said, % 😊 😠 😢 😌 (editors)",
        "How often the model says each mood on the 4Q clips, in %, in the order happy · aggressive · sad · calm "
        "(each mood is a quarter of these clips).",
    ),
    "listener valence r": (
        "follows listeners: valence",
        "Pearson r between the shown valence and the listeners' mean rating of how positive the music is (1: perfectly in step, 0: unrelated).",
    ),
    "listener arousal r": (
        "follows listeners: arousal",
        "Pearson r between the shown arousal and the listeners' mean rating of its energy.",
    ),
    "listener mood accuracy": (
        "mood right (listeners)",
        "Share of listener-rated clips whose shown mood is the listeners' mood.",
    ),
    "moods said on listener clips": (
        "moods said, % 😊 😠 😢 😌 (listeners)",
        "How often the model says each mood on the listener-rated clips, in %, in the order happy · aggressive · "
        "sad · calm.",
    ),
    "valence r": (
        "follows listeners: valence",
        "Pearson r with the listeners' mean valence (how positive); 1 is perfect.",
    ),
    "arousal r": (
        "follows listeners: arousal",
        "Pearson r with the listeners' mean arousal (how energetic); 1 is perfect.",
    ),
    "CCC valence": (
        "on their scale: valence",
        "Concordance (CCC): like r, but it also counts being at the listeners' level and spread; 1 is perfect.",
    ),
    "CCC arousal": ("on their scale: arousal", "Concordance (CCC) for arousal."),
    "MAE valence": (
        "typical miss: valence",
        "Mean absolute error on the 0–1 scale: how far the valence is from the listeners' on average.",
    ),
    "MAE arousal": ("typical miss: arousal", "Mean absolute error of arousal on the 0–1 scale."),
    "mood accuracy": ("mood right", "Share of clips whose mood is the truth's mood; 25% is chance."),
    "macro-F1": (
        "balance over moods",
        "Macro-F1: each mood's score, averaged, so saying one mood a lot gains nothing.",
    ),
    "ECE": (
        "confidence off by",
        "Expected calibration error (ECE): how far the stated confidence is from how often the mood is right; 0 is honest.",
    ),
    "accuracy": ("mood right", "Share of validation clips in the right quadrant; 25% is chance."),
    "MSE": ("squared miss", "Mean squared error of valence and arousal on the 0–1 scale."),
    "MAE": ("typical miss", "Mean absolute error of valence and arousal on the 0–1 scale."),
    "R² valence": (
        "explained: valence",
        "R²: the share of the truth's variation in valence the model explains (1 is all, 0 no better than the mean).",
    ),
    "R² arousal": ("explained: arousal", "R² of arousal."),
}


def figures_table(by_model: dict[str, dict], best: tuple[str, ...] = (), digits: int = 3) -> None:
    """Models across, figures down, each figure named in words (five model columns in a table that wraps fit
    a 1024 px projector; nine figure columns did not), the best model of each `best` figure shaded; what every figure measures,
    with the experts' term, in an expander under it. `by_model`: model -> {figure key: value}."""
    frame = pd.DataFrame(by_model)  # rows: figures, columns: models
    numeric = [k for k in frame.index if all(isinstance(v, (int, float)) for v in frame.loc[k])]
    shade = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for key in (k for k in best if k in numeric):
        shade.loc[key, frame.loc[key].astype(float).idxmax()] = "background-color: #d9f2dc"
    # text cells throughout (a column mixes figures and mood shares, which Arrow cannot hold as one type)
    text = frame.apply(
        lambda row: row.map(f"{{:.{digits}f}}".format) if row.name in numeric else row.astype(str), axis=1
    )
    words = {k: COLUMN_WORDS.get(k, (k, ""))[0] for k in frame.index}
    style = text.rename(index=words).style.apply(lambda _: shade.rename(index=words), axis=None)
    st.table(style)  # a plain table wraps its words: nothing is cut off on a 1024 px projector
    with st.expander("What these figures mean", icon=":material/info:"):
        st.markdown(
            "\n".join(
                f"- **{words[k]}** ({k}): {COLUMN_WORDS[k][1]}"
                for k in by_model[next(iter(by_model))]
                if k in COLUMN_WORDS
            )
        )


def column_of(name: str) -> str:
    """A model as a table's column: its friendly name, ⭐ for the headline (the best on unseen artists)."""
    return label(name) + (" ⭐" if name == headline else "")


def spread(figure: dict, percent: bool) -> tuple[str, str]:
    """('74%', '±1 over 5 splits; on a set of 150 clips expect 67–80%') from a shown_rule figure."""
    show = (lambda x: f"{x:.0%}") if percent else (lambda x: f"{x:.2f}")
    splits = len(metrics["shown_rule"].get("fold_seeds", [])) or "several"
    words = f"±{figure['sd'] * 100:.0f}" if percent else f"±{figure['sd']:.2f}"
    words += f" over {splits} splits by artist"
    low_high = figure.get("ci95_150")
    if low_high and len(low_high) == 2:
        low = show(low_high[0]).rstrip("%")  # "67–80%"
        words += f"; on a set of 150 clips expect {low}–{show(low_high[1])}"
    return show(figure["mean"]), words


def rule_section() -> None:
    """How often the shown answer is right, in words, with its spread (metrics.json's shown_rule, when the
    training run made it; the page reads the same without it)."""
    rule = metrics.get("shown_rule")
    if not isinstance(rule, dict):
        return
    try:
        parts = []
        for key, whose in (("accuracy_4q", "editors' moods"), ("accuracy_listener", "listeners' moods")):
            if key in rule:
                value, words = spread(rule[key], True)
                parts.append(f"with {whose} **{value}** of the time ({words})")
        text = (
            ("On music from artists it never heard, the mood shown agrees " + "; ".join(parts) + ".") if parts else ""
        )
        follows = []
        for key, axis in (("r_valence", "how positive"), ("r_arousal", "how energetic")):
            if key in rule:
                value, words = spread(rule[key], False)
                follows.append(f"{axis} **{value}** ({words})")
        if follows:
            text += " It follows listeners' ratings of " + " and of ".join(follows) + " (r: 1 is perfect, 0 unrelated)."
        if all(k in rule for k in ("close_share_4q", "accuracy_close_4q", "accuracy_sure_4q", "either_close_4q")):
            text += (
                f" About {rule['close_share_4q']['mean']:.0%} of moods are said as a close call (“calm, close to sad”):"
                f" those are right {rule['accuracy_close_4q']['mean']:.0%} of the time, the others"
                f" {rule['accuracy_sure_4q']['mean']:.0%}, and on a close call the editors' mood is one of the two"
                f" named {rule['either_close_4q']['mean']:.0%} of the time."
            )
    except (KeyError, TypeError, ValueError):  # an older or partial block: the figures below still stand
        return
    if text:
        st.success(text, icon="🎯")


MOODS_SAID = ("happy", "aggressive", "sad", "calm")


def said_text(counts) -> str:
    """'26 · 24 · 25 · 25': how often each mood was said, in % (happy · aggressive · sad · calm)."""
    total = max(sum(counts), 1)
    return " · ".join(f"{c / total:.0%}".rstrip("%") for c in counts)


def shown_section() -> None:
    shown_4q, listener = metrics.get("shown_4q"), metrics.get("listener")
    if not shown_4q or not listener:
        return
    models = listener["models"]
    order = webapp.ordered(shown_4q, headline)
    v, a = metrics.get("mood_centre", (0.5, 0.5))
    st.subheader("What the app shows, on both kinds of truth", anchor=False)
    st.caption(
        f"Exactly what a user sees: the shown point, and the mood named around the mood centre (valence "
        f"{v:.2f}, arousal {a:.2f}). On 4Q the mood is scored against the editors' quadrants; on the "
        "listener set the point against the listeners' means, and the mood against the listeners' mood named "
        "around the same centre. Every clip was predicted by models that never saw its artist."
    )
    h4, hl = shown_4q[order[0]], models[order[0]]
    metric_row(
        [
            (
                "Mood right (editors)",
                f"{h4['accuracy']:.1%}",
                f"4Q mood accuracy: share of the 4Q clips (AllMusic editors' mood tags) whose shown mood is the "
                f"editors'; 25% is chance. {h4['judged_on']}.",
            ),
            (
                "Balance over moods",
                f"{h4['macro_f1']:.3f}",
                "Macro-F1 on 4Q: each mood's score, averaged (1 is perfect).",
            ),
            (
                "Follows listeners: valence",
                f"{hl['r_valence']:.2f}",
                "Pearson r with the listeners' mean rating of how positive the music is (1: in step, 0: unrelated).",
            ),
            (
                "Follows listeners: arousal",
                f"{hl['r_arousal']:.2f}",
                "Pearson r with the listeners' mean rating of its energy (1: in step, 0: unrelated).",
            ),
        ]
    )
    figures_table(
        {
            column_of(n): {
                "4Q accuracy": shown_4q[n]["accuracy"],
                "4Q macro-F1": shown_4q[n]["macro_f1"],
                "moods said on 4Q": said_text(shown_4q[n]["said"]),
                "listener valence r": models[n]["r_valence"],
                "listener arousal r": models[n]["r_arousal"],
                "listener mood accuracy": models[n]["accuracy"],
                "moods said on listener clips": said_text(models[n]["said"]),
            }
            for n in order
            if n in models
        },
        best=("4Q accuracy", "listener valence r", "listener arousal r", "listener mood accuracy"),
    )


def listener_section() -> None:
    listener = metrics.get("listener")
    if not listener:
        return
    models = listener["models"]
    order = webapp.ordered(models, headline)
    st.subheader("On listener ratings (what the app reports)", anchor=False)
    st.caption(
        f"{listener['n_clips']} clips of 17 genres by {listener['n_artists']} artists, rated by many "
        f"listeners ({SOURCES['musifeast']}). Artist-grouped {listener['folds']}-fold cross-validation: the "
        "headline model never saw a clip's artist when predicting it (it also learns from all of 4Q); the "
        "other models learned from 4Q only, and every model's calibration onto the listener scale was "
        "fitted on the other folds."
    )
    h = models[order[0]]
    metric_row(
        [
            ("Follows listeners: valence", f"{h['r_valence']:.2f}", COLUMN_WORDS["valence r"][1]),
            ("Follows listeners: arousal", f"{h['r_arousal']:.2f}", COLUMN_WORDS["arousal r"][1]),
            ("On their scale: valence", f"{h['ccc_valence']:.2f}", COLUMN_WORDS["CCC valence"][1]),
            ("On their scale: arousal", f"{h['ccc_arousal']:.2f}", COLUMN_WORDS["CCC arousal"][1]),
            ("Confidence off by", f"{h['ece']:.3f}", COLUMN_WORDS["ECE"][1]),
        ]
    )
    figures_table(
        {
            column_of(n): {
                "valence r": models[n]["r_valence"],
                "arousal r": models[n]["r_arousal"],
                "CCC valence": models[n]["ccc_valence"],
                "CCC arousal": models[n]["ccc_arousal"],
                "MAE valence": models[n]["mae_valence"],
                "MAE arousal": models[n]["mae_arousal"],
                "mood accuracy": models[n]["accuracy"],
                "macro-F1": models[n]["macro_f1"],
                "ECE": models[n]["ece"],
            }
            for n in order
        },
        best=("valence r", "arousal r"),
    )
    counts = dict(zip(("happy", "aggressive", "sad", "calm"), listener["quadrant_counts"]))
    st.caption(
        f"Mood accuracy: the shown mood against the listeners' mood, both named around the mood centre. "
        f"Around the scale's neutral point only {listener['negative_valence_share']:.0%} of these clips were "
        f"heard as negative (sad {counts['sad']}, aggressive {counts['aggressive']}); the correlations say "
        "the most."
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Is the confidence honest?**")
        st.plotly_chart(
            plots.reliability_curve({n: models[n]["reliability"]["bins"] for n in order}),
            width="stretch",
            key="reliability",
        )
        st.caption(
            "Each point: clips grouped by the confidence the app stated, against how often their mood was "
            "right. On the diagonal, a stated 80% is right 80% of the time."
        )
    with right:
        model = st.selectbox("Model (listener set)", order, key="listener_model", format_func=label)
        st.plotly_chart(
            plots.predictions_vs_truth(listener["predictions"], model, webapp.mood_centre()),
            width="stretch",
            key="listener_truth",
        )


def headline_section() -> None:
    m = val[headline]
    st.subheader(f"{label(headline)}: how the headline was chosen — on 4Q (editors' mood tags)", anchor=False)
    st.caption(
        f"The app leads with it because its 4Q head scored best on {facts['n_validation']} validation clips by "
        f"{'artists' if facts.get('n_artists') else 'songs'} unseen in training. These figures are each "
        "model's own 4Q calibration (its median on 0.5) on those 150 clips alone, a diagnostic: so they differ "
        "from the figures in the first tabs, which are what the app shows (its mood centre), over all 748 clips "
        "by cross-validation."
    )
    metric_row(
        [
            ("Mood accuracy", f"{m['accuracy']:.1%}", COLUMN_WORDS["accuracy"][1]),
            ("Balance over moods", f"{m['macro_f1']:.3f}", COLUMN_WORDS["macro-F1"][1]),
            ("Typical miss", f"{m['mae']:.3f}", COLUMN_WORDS["MAE"][1]),
            ("Explained: valence", f"{m['r2_valence']:.2f}", COLUMN_WORDS["R² valence"][1]),
            ("Explained: arousal", f"{m['r2_arousal']:.2f}", COLUMN_WORDS["R² arousal"][1]),
        ]
    )
    source = facts["source"]
    st.caption(
        f"Source: **{source}**, that is {SOURCES.get(source, source)}. {facts['n_train']} training clips "
        f"and {facts['n_validation']} validation clips; {facts['n_artists']} artists, none in both."
    )


def comparison_section() -> None:
    st.subheader("All models on validation (each model's own 4Q calibration)", anchor=False)
    metric_row(
        [
            (
                label(name) + (" ⭐" if name == headline else ""),
                f"{val[name]['accuracy']:.1%}",
                COLUMN_WORDS["accuracy"][1],
            )
            for name in names
        ]
    )
    figures_table(
        {
            column_of(name): {
                "accuracy": m["accuracy"],
                "macro-F1": m["macro_f1"],
                "MSE": m["mse"],
                "MAE": m["mae"],
                "R² valence": m["r2_valence"],
                "R² arousal": m["r2_arousal"],
            }
            for name, m in ((n, val[n]) for n in names)
        },
        best=("accuracy", "macro-F1"),
    )


def confusion_section() -> None:
    shown = metrics.get("shown_4q") or val  # what the app shows, when the run recorded it
    st.subheader(
        "Confusion matrices on 4Q" + (" (the mood the app shows)" if "shown_4q" in metrics else ""), anchor=False
    )
    st.caption(
        "Rows: the true mood; columns: the predicted one. The diagonal is right; sad ↔ calm is the usual mix-up."
    )
    for i in range(0, len(names), 2):  # two per row: readable on a projector
        for column, name in zip(st.columns(2), names[i : i + 2]):
            title = label(name) + (" (headline)" if name == headline else "")
            column.plotly_chart(
                plots.confusion_heatmap(shown[name]["confusion"], title), width="stretch", key=f"confusion_{name}"
            )


def predictions_section() -> None:
    st.subheader("Predictions against truth", anchor=False)
    model = st.selectbox("Model (4Q validation)", names, key="results_model", format_func=label)
    rows = metrics["predictions"]
    truth_col, dist_col = st.columns([3, 2])
    truth_col.plotly_chart(plots.predictions_vs_truth(rows, model, webapp.mood_centre()), width="stretch")
    with dist_col:
        st.markdown("**Predicted moods against the true distribution**")
        st.plotly_chart(plots.mood_distribution(rows, model, webapp.mood_centre()), width="stretch")
        st.caption("Each line joins a clip's prediction (filled) to its truth (open circle).")


def training_section() -> None:
    trained = [n for n in names if n in metrics.get("history", {})]
    if not trained:
        return
    st.subheader("Training curves", anchor=False)
    for name in trained:
        history = metrics["history"][name]
        loss_col, mae_col = st.columns(2)
        loss_col.plotly_chart(plots.training_curves(history, "loss", f"{label(name)}: loss"), width="stretch")
        mae_col.plotly_chart(plots.training_curves(history, "mae", f"{label(name)}: MAE"), width="stretch")


def story_section() -> None:
    """The headline's story in one place, for a presenter: one figure per truth, each named in words."""
    shown_4q, listener = metrics.get("shown_4q"), metrics.get("listener")
    if not shown_4q or not listener or headline not in shown_4q or headline not in listener["models"]:
        return
    h4, hl = dict(shown_4q[headline]), dict(listener["models"][headline])
    rule = metrics.get("shown_rule") if isinstance(metrics.get("shown_rule"), dict) else {}
    # the same figures as the sentence above (their mean over the splits by artist), not a second, other number
    for key, into, field in (
        ("accuracy_4q", h4, "accuracy"),
        ("accuracy_listener", hl, "accuracy"),
        ("r_valence", hl, "r_valence"),
        ("r_arousal", hl, "r_arousal"),
    ):
        if isinstance(rule.get(key), dict) and "mean" in rule[key]:
            into[field] = rule[key]["mean"]
    st.subheader(f"{label(headline)} ⭐, on music by artists it never heard", anchor=False)
    metric_row([(TRUTHS[key][0], TRUTHS[key][1](h4, hl), TRUTHS[key][2]) for key in TRUTHS if TRUTHS[key][1](h4, hl)])
    left, right = st.columns(2)
    left.plotly_chart(
        plots.confusion_heatmap(h4["confusion"], "editors' moods (rows) against the mood shown"),
        width="stretch",
        key="story_confusion",
    )
    with right:
        st.plotly_chart(
            plots.reliability_curve({headline: hl["reliability"]["bins"]}, height=360),
            width="stretch",
            key="story_reliability",
        )
        st.caption("Clips grouped by the confidence shown, against how often their mood was right (listeners).")


def _pct(x) -> str:
    return f"{x:.0%}"


# one figure per model per truth, named in words: (label, value from (shown_4q, listener model), what it is)
TRUTHS = {
    "editors": (
        "Mood right: editors' moods",
        lambda h4, hl: _pct(h4["accuracy"]),
        "4Q: share of clips (AllMusic editors' mood tags) whose shown mood is the editors'; artists never seen "
        "(5-fold cross-validation by artist); 25% is chance.",
    ),
    "listeners": (
        "Mood right: listeners' moods",
        lambda h4, hl: _pct(hl["accuracy"]),
        "Listener-rated clips of 17 genres: share whose shown mood is the listeners' mood; artists never seen.",
    ),
    "valence": (
        "Follows listeners: valence",
        lambda h4, hl: f"{hl['r_valence']:.2f}",
        "Pearson r with listeners' mean rating of how positive the music is (1: in step, 0: unrelated); artists "
        "never seen.",
    ),
    "arousal": (
        "Follows listeners: arousal",
        lambda h4, hl: f"{hl['r_arousal']:.2f}",
        "Pearson r with listeners' mean rating of its energy; artists never seen.",
    ),
    "ece": (
        "Confidence off by",
        lambda h4, hl: f"{hl['ece']:.0%}" if "ece" in hl else "",
        "Expected calibration error on the listener clips: how far the stated confidence is from how often the "
        "mood is right (0 is honest).",
    ),
}


def models_section() -> None:
    """Every model, one figure per truth, named in words (what the app shows for each)."""
    shown_4q, listener = metrics.get("shown_4q"), metrics.get("listener")
    if not shown_4q or not listener:
        return
    models = listener["models"]
    order = [n for n in webapp.ordered(shown_4q, headline) if n in models]
    st.subheader("Every model, as the app shows it", anchor=False)
    st.caption(
        "The report's CNN and SVR beside the stronger models; each figure on music by artists the model never "
        "saw, from one cross-validation run (the headline tab gives the headline's mean over several splits, "
        "so its figures there can differ by a point)."
    )
    short = {
        "editors": "mood right: editors",
        "listeners": "mood right: listeners",
        "valence": "follows: valence",
        "arousal": "follows: arousal",
        "ece": "confidence off by",
    }
    frame = pd.DataFrame(  # models down, five short figures across: fits a 1024 px projector
        {short[k]: {column_of(n): TRUTHS[k][1](shown_4q[n], models[n]) for n in order} for k in TRUTHS}
    )
    st.table(frame)  # a plain table wraps: nothing is cut off on a projector
    with st.expander("What these figures mean", icon=":material/info:"):
        st.markdown("\n".join(f"- **{TRUTHS[k][0]}**: {TRUTHS[k][2]}" for k in TRUTHS))


def card_css() -> None:
    """The model card's Markdown tables wrap inside the page (a projector's 1024 px cut them off)."""
    st.html(
        "<style>.st-key-model-card table{display:block;max-width:100%;overflow-x:auto;font-size:0.8em}"
        ".st-key-model-card th{white-space:normal;overflow-wrap:anywhere}"
        ".st-key-model-card td{white-space:normal;overflow-wrap:normal}</style>"
    )


def model_card_section() -> None:
    card_css()
    with st.container(key="model-card"):
        st.markdown(model_card.render(metrics))


TABS = {  # a presenter finds the headline's story first; the experts' figures are one click away
    "⭐ The headline": [scale_section, adapted_section, rule_section, story_section],
    "All models": [models_section],
    "Details for experts": [
        shown_section,
        listener_section,
        headline_section,
        comparison_section,
        confusion_section,
        predictions_section,
        training_section,
    ],
    "Model card": [model_card_section],
}
for tab, sections in zip(st.tabs(list(TABS)), TABS.values()):
    with tab:
        for section in sections:
            section()
