"""EmotioNet: the app's entry. It only declares the pages; each page calls the emotionet package.

The page scripts live in app_pages/, not pages/: Streamlit treats a pages/ folder beside the entry
as a legacy multipage app, and a fresh server's first visit to a page URL (a bookmarked /results)
then runs that page without this script: no navigation, no page config.
"""

import streamlit as st

st.set_page_config(page_title="EmotioNet", page_icon="🎵", layout="wide")
# A projector's 1024×768 must hold every label and button whole: on screens under 1400 px the sidebar is
# narrower and the margins around the page tighter (Streamlit's defaults leave a 1024 px page 560 px of room).
st.html(
    """<style>
    [data-testid="stFileUploaderDropzoneInstructions"] * { white-space: normal !important; }
    @media (max-width: 1400px) {
      section[data-testid="stSidebar"] { width: 220px !important; min-width: 220px !important; }
      [data-testid="stMainBlockContainer"] { padding: 4rem 1.5rem 3rem 1.5rem; }
    }
    </style>"""
)

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
page = st.navigation(pages)  # drawn now: a first visit sees the app's frame before the slow imports below
from emotionet.app import signin, uploads  # noqa: E402 (it imports torch: seconds on a fresh server)

uploads.upload_guard()  # uploads are counted per person as they arrive, before any page sees them
signin.close_internals()  # the server's metrics only for a signed-in coordinator
signin.keep()  # who is signed in (a reload keeps it), their uploads charged to them
page.run()
