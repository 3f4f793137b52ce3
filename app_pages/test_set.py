"""Test set: the team's ratings aggregated, how well the raters agree, how each rater rates, how
the models do, learning from the team (adapt, then accept), exports.

Blind rating holds here too: a rater (signed in, emotionet.app.signin) sees the team's values only
for tracks they have rated themselves; every mean, the evaluation, adapting the models, the exports
and the team's members (invitations) are for coordinators.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from emotionet.app import plots, signin, webapp
from emotionet.models import checkpoints
from emotionet.team import adapt
from emotionet.team import labelling as lab
from emotionet.team.raters import team_raters
from emotionet.team.storage import AudioStore

ADAPT_WORDS = {  # adapt's candidates ("shipped", "offset", "ridge 1000") in words
    "shipped": "none, the shipped model",
    "offset": "a shift of every answer by the team's average difference",
    "ridge": "a small learned correction of the model's answers",
}
FEW_TRACKS = 20  # below this, Krippendorff's alpha is too uncertain to read much into

st.header("📋 Test set")

member = signin.require_member()  # nothing is shown or written without a sign-in
viewer, coordinator = member.name, member.coordinator

engine, store = webapp.engine(), AudioStore()
table = lab.aggregate(engine, centre=webapp.mood_centre())  # moods named as the app names them
if table.empty:
    st.info("No ratings yet: rate some tracks on the 🏷️ Label page.")
    if coordinator:
        st.subheader("👥 The team")
        signin.team_panel(member)
    st.stop()

# --- Who is looking: a rater sees only what they have already rated --------------------------
if coordinator:
    st.caption(f"Viewing as {webapp.plain(viewer)}, a coordinator: every track's values are shown.")
else:
    st.caption(f"Viewing as {webapp.plain(viewer)}: the team's values of a track stay hidden until you have rated it.")
rated = set(table.track_hash) if coordinator else lab.rated_by(engine, viewer)

min_raters = int(st.number_input("Minimum raters per track (for evaluation and export)", 1, 50, 2, key="min_raters"))
eligible = table[table.n_raters >= min_raters]
st.caption(f"{len(table)} rated tracks; {len(eligible)} with at least {min_raters} raters.")

# --- Per track --------------------------------------------------------------------------------
st.subheader("Tracks")
NUMBERS = ["valence_mean", "valence_std", "arousal_mean", "arousal_std"]
shown = table.drop(columns=["track_hash"])
shown[NUMBERS] = table[NUMBERS].map(lambda x: "—" if pd.isna(x) else f"{x:.3f}")  # one rater has no spread
hidden = ~table.track_hash.isin(rated)
shown.loc[hidden, [*NUMBERS, "mood", "quadrant"]] = "🙈 rate it first"
st.dataframe(  # the columns a reader needs, headed in words; source and licence are on the Label page
    shown,
    hide_index=True,
    column_order=["title", "artist", "n_raters", *NUMBERS, "mood"],
    column_config={
        "n_raters": st.column_config.NumberColumn("raters"),
        "valence_mean": st.column_config.Column("valence", help="The raters' mean valence: how positive (0–1)."),
        "valence_std": st.column_config.Column("± valence", help="How far apart the raters are on valence."),
        "arousal_mean": st.column_config.Column("arousal", help="The raters' mean arousal: how energetic (0–1)."),
        "arousal_std": st.column_config.Column("± arousal", help="How far apart the raters are on arousal."),
    },
)
if hidden.any():
    st.caption(f"{int(hidden.sum())} track(s) you have not rated yet: their values are hidden.")

# --- Agreement ----------------------------------------------------------------------------------
st.subheader("Agreement")
result = lab.agreement(engine)
left, right, third = st.columns(3)
fmt = lambda x: "—" if np.isnan(x) else f"{x:.2f}"  # noqa: E731
left.metric("Krippendorff's α, valence", fmt(result.alpha_valence))
right.metric("Krippendorff's α, arousal", fmt(result.alpha_arousal))
third.metric("Tracks with 2+ raters", result.n_tracks)
if result.n_tracks < FEW_TRACKS:
    st.warning(
        f"α from {result.n_tracks} track(s) is a rough guess: with so few tracks one disagreement can swing "
        f"it from near 1 to below 0. Read it once {FEW_TRACKS} or more tracks have two or more raters."
    )
st.caption("α is 1 when raters agree perfectly and 0 when they agree no better than chance (interval scale).")

# --- Raters -------------------------------------------------------------------------------------
st.subheader("Raters")
view = team_raters(engine)
st.caption(
    "Each rater against the mean of the others on the same tracks: the offset says who rates high or low "
    "(+ = more positive / more energetic than the rest), r how well they rank tracks as the rest do, "
    "whatever their offset."
)
left, right = st.container(), st.container(width=560)  # the table at full width: its eight columns fit 1024 px
left.dataframe(
    view,
    hide_index=True,
    column_config={
        "n_tracks": "tracks",
        "n_shared": st.column_config.Column("shared", help="Tracks this rater shares with others."),
        **{
            f"{axis}_offset": st.column_config.NumberColumn(
                f"{axis} offset", format="%+.3f", help=f"+: rates {word} than the rest on average."
            )
            for axis, word in (("valence", "more positive"), ("arousal", "more energetic"))
        },
        **{
            f"{axis}_r": st.column_config.NumberColumn(
                f"{axis} in step",
                format="%.2f",
                help=f"Pearson r with the others' mean {axis}: 1 ranks tracks as they do.",
            )
            for axis in ("valence", "arousal")
        },
        "mae": st.column_config.NumberColumn(
            "typical gap", format="%.2f", help="Mean absolute difference from the others' mean rating (0–1)."
        ),
    },
)
right.plotly_chart(plots.rater_offsets(view), key="rater_offsets")

if not coordinator:
    st.info("The models' evaluation and the exports hold every rater's values: they are for the team's coordinators.")
    st.stop()

# --- Evaluation -----------------------------------------------------------------------------------
st.subheader("Evaluate the models")
st.caption(
    "Keep this tab open while the models run: closing it stops the evaluation, and it starts again from "
    "the first track next time."
)
if st.button(f"▶️ Run the models on {len(eligible)} tracks", disabled=eligible.empty):
    bar = st.progress(0.0, text="Analysing…")
    try:
        st.session_state["evaluation"] = lab.evaluate(
            engine,
            store,
            webapp.predictor(),
            webapp.models_key(),
            min_raters,
            on_progress=lambda done, total: bar.progress(done / total, text=f"{done} of {total} tracks"),
        )
    except Exception as error:  # e.g. no trained models: the page keeps working
        st.error(f"The models could not be run: {webapp.plain(error)}")
    bar.empty()

evaluation = st.session_state.get("evaluation")
if evaluation is not None and evaluation.min_raters != min_raters:
    st.info(f"The last evaluation used tracks with {evaluation.min_raters}+ raters: run it again for {min_raters}+.")
elif evaluation is not None:
    st.caption(f"{evaluation.n} tracks with at least {evaluation.min_raters} raters.")
    for track_hash, message in evaluation.errors.items():
        st.warning(f"Skipped {track_hash[:12]}: {webapp.plain(message)}")
    if evaluation.metrics:
        names = webapp.ordered(evaluation.metrics)
        headline = webapp.headline()
        st.dataframe(
            [
                {
                    "model": webapp.model_name(name, headline),
                    "MSE": m["mse"],
                    "MAE": m["mae"],
                    "R² valence": m["r2_valence"],
                    "R² arousal": m["r2_arousal"],
                    "mood accuracy": m["accuracy"],
                    "macro-F1": m["macro_f1"],
                }
                for name, m in ((n, evaluation.metrics[n]) for n in names)
            ],
            hide_index=True,
        )
        if evaluation.n < FEW_TRACKS:
            st.warning(
                f"{evaluation.n} track(s): each one moves the accuracy by {1 / max(evaluation.n, 1):.0%}. "
                "Compare models on more tracks before drawing conclusions."
            )
        model = st.selectbox("Model", names, key="evaluation_model", format_func=plots.label)
        metrics, frame = evaluation.metrics[model], evaluation.predictions
        left, right = st.columns([2, 3])
        left.plotly_chart(plots.confusion_heatmap(metrics["confusion"]), key="confusion")
        right.plotly_chart(plots.truth_scatter(frame, model), key="scatter")

# --- Learn from the team ----------------------------------------------------------------------------
st.subheader("Learn from the team")
chosen = checkpoints.accepted()
if chosen:
    st.info(
        f"The app uses the model adapted to the team's ratings ({webapp.plain(Path(chosen['path']).name)}), "
        f"accepted by {webapp.plain(chosen.get('accepted_by') or 'someone')} at {chosen.get('accepted_at', '?')}."
    )
    if st.button("↩️ Use the shipped model again"):
        checkpoints.accept(None)
        st.rerun()
else:
    st.caption(
        "The app uses the shipped models. Adapting refits the headline's light head on the team's mean "
        f"ratings of the {len(eligible)} tracks with {min_raters}+ raters; cross-validation across artists "
        "inside the team's set tells whether it helps, and nothing changes until you accept it."
    )
if st.button(f"🧠 Adapt the headline to {len(eligible)} team tracks", disabled=eligible.empty):
    bar = st.progress(0.0, text="Listening…")
    try:
        base = checkpoints.shipped_dir()  # adapted from the shipped models, never from an earlier adaptation
        result, folder, skipped = adapt.run(
            webapp.predictor_for(base),
            adapt.items_from_team(engine, store, min_raters),
            base,
            made_by=viewer,
            on_progress=lambda done, total: bar.progress(done / total, text=f"{done} of {total} tracks"),
        )
        st.session_state["adaptation"] = (min_raters, result.summary(), result.per_track, str(folder), skipped)
    except adapt.AdaptError as error:
        st.error(webapp.plain(error))
    except Exception as error:  # e.g. no pretrained model: the page keeps working
        st.error(f"The headline could not be adapted: {webapp.plain(error)}")
    bar.empty()
if (adapted := st.session_state.get("adaptation")) is not None:
    _, summary, per_track, folder, skipped = adapted
    before, after = summary["candidates"]["shipped"], summary["candidates"][summary["chosen"]]
    for track_hash, message in skipped.items():
        st.warning(f"Skipped {track_hash[:12]}: {webapp.plain(message)}")
    st.caption(
        f"{summary['n_tracks']} tracks by {summary['n_artists']} artists; each track predicted by a head "
        f"fitted on the other artists' tracks (correction: {ADAPT_WORDS.get(summary['chosen'].split()[0], summary['chosen'])})."
    )
    cols = st.columns(4)
    cols[0].metric(
        "Mean abs. error", f"{after['mae']:.3f}", f"{after['mae'] - before['mae']:+.3f}", delta_color="inverse"
    )
    cols[1].metric("Valence r", f"{after['r_valence']:.2f}", f"{after['r_valence'] - before['r_valence']:+.2f}")
    cols[2].metric("Arousal r", f"{after['r_arousal']:.2f}", f"{after['r_arousal'] - before['r_arousal']:+.2f}")
    cols[3].metric(
        "Mood accuracy", f"{after['mood_accuracy']:.0%}", f"{after['mood_accuracy'] - before['mood_accuracy']:+.0%}"
    )
    left, right = st.columns([3, 2])
    left.plotly_chart(plots.before_after(per_track, webapp.mood_centre()), key="before_after")
    right.dataframe(
        pd.DataFrame(summary["candidates"]).T[["mae", "r_valence", "r_arousal", "mood_accuracy"]].round(3),
        column_config={
            "mae": st.column_config.Column("typical miss", help="Mean absolute error against the team's mean (0–1)."),
            "r_valence": st.column_config.Column("valence r", help="Pearson r with the team's mean valence."),
            "r_arousal": st.column_config.Column("arousal r", help="Pearson r with the team's mean arousal."),
            "mood_accuracy": st.column_config.Column("mood right", help="Share of tracks given the team's mood."),
        },
    )
    st.dataframe(
        per_track.drop(columns=["id"]).round(3),
        hide_index=True,
        column_config={  # before: the shipped model; after: the adapted one, on tracks it never trained on
            **{
                f"before_{k}": st.column_config.Column(f"shipped: {k}", help=f"The shipped model's {k}.")
                for k in ("valence", "arousal", "mood")
            },
            **{
                f"after_{k}": st.column_config.Column(
                    f"adapted: {k}", help=f"The adapted model's {k}, held out by artist."
                )
                for k in ("valence", "arousal", "mood")
            },
            "valence": st.column_config.Column("team: valence", help="The team's mean valence."),
            "arousal": st.column_config.Column("team: arousal", help="The team's mean arousal."),
            "mood": st.column_config.Column("team: mood"),
        },
    )
    if summary["helps"]:
        st.success("The adapted model beats the shipped one on the team's tracks, held out by artist.")
        if st.button("✅ Use the adapted model", type="primary"):
            checkpoints.accept(folder, viewer)
            del st.session_state["adaptation"]
            st.rerun()
    else:
        st.warning(
            "Adapting does not clearly beat the shipped model on the team's tracks: keep the shipped one. "
            "More rated tracks (by more artists) give it more to learn from."
        )

# --- Export ----------------------------------------------------------------------------------------
st.subheader("Export")
# Made on the click (a callable): Streamlit serves a download's bytes at a /media URL without asking for the
# sign-in, so team data is put there only when a coordinator asks for it.
st.download_button("⬇️ Ratings (CSV)", lambda: lab.export_ratings_csv(engine), "ratings.csv", "text/csv")
st.download_button(
    "⬇️ Rating history (CSV)",
    lambda: lab.export_ratings_csv(engine, history=True),
    "ratings_history.csv",
    "text/csv",
)
if st.button(f"📦 Prepare the test set ({len(eligible)} tracks, manifest + audio)", disabled=eligible.empty):
    try:
        st.session_state["export_zip"] = (min_raters, lab.export_zip(engine, store, min_raters, webapp.mood_centre()))
    except lab.LabellingError as error:
        st.error(webapp.plain(error))  # may name a track by its title
if "export_zip" in st.session_state:
    exported_for, archive = st.session_state["export_zip"]
    if exported_for == min_raters:
        st.download_button(
            f"⬇️ Test set, {exported_for}+ raters (zip)",
            lambda: archive,
            "emotionet_test_set.zip",
            "application/zip",
        )
    else:  # a zip for another minimum would not be what the page now says
        st.caption(f"The prepared zip was for {exported_for}+ raters: prepare it again for {min_raters}+.")
st.caption(
    "The zip holds manifest.csv (path, valence, arousal, quadrant, artist, title, song_id, ...), "
    "audio/<hash>.<ext> and ratings.csv; `python -m emotionet evaluate manifest.csv` and train.py read it."
)

# --- The team (invitations) --------------------------------------------------------------------------
st.subheader("👥 The team")
signin.team_panel(member)
