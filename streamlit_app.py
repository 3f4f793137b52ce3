"""EmotioNet: the app's entry. It only declares the pages; each page calls the emotionet package.

The page scripts live in app_pages/, not pages/: Streamlit treats a pages/ folder beside the entry
as a legacy multipage app, and a fresh server's first visit to a page URL (a bookmarked /results)
then runs that page without this script: no navigation, no page config.
"""

import streamlit as st

st.set_page_config(page_title="EmotioNet", page_icon="🎵", layout="wide")

pages = {
    "Listen": [
        st.Page("app_pages/analyze.py", title="Analyze", icon="🎧", default=True),
        st.Page("app_pages/playlists.py", title="Playlists", icon="🎶"),
    ],
    "Label": [
        st.Page("app_pages/label.py", title="Label", icon="🏷️"),
        st.Page("app_pages/test_set.py", title="Test set", icon="📋"),
    ],
    "Present": [st.Page("app_pages/results.py", title="Results", icon="📊")],
}
st.navigation(pages).run()
