"""EmotioNet: the app's entry. It only declares the pages; each page calls the emotionet package."""

import streamlit as st

st.set_page_config(page_title="EmotioNet", page_icon="🎵", layout="wide")

pages = {
    "Listen": [
        st.Page("pages/analyze.py", title="Analyze", icon="🎧", default=True),
        st.Page("pages/playlists.py", title="Playlists", icon="🎶"),
    ],
    "Label": [
        st.Page("pages/label.py", title="Label", icon="🏷️"),
        st.Page("pages/test_set.py", title="Test set", icon="📋"),
    ],
    "Present": [st.Page("pages/results.py", title="Results", icon="📊")],
}
st.navigation(pages).run()
