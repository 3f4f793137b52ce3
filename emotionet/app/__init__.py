"""The Streamlit app's shared parts (the page scripts in app_pages/ stay thin): `webapp` (the
resources the pages share: models, database, cached analyses), `plots` (every chart) and
`song_page` (the whole-song blocks of the Analyze page). Nothing below this layer imports it."""
