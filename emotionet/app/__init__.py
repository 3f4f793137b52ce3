"""The Streamlit app's shared parts (the page scripts in app_pages/ stay thin): `webapp` (every name
the pages share, from `resources`: models, database, cached analyses; `markdown`: user text made
safe; `naming`: the models in display order; `text`: moods and numbers in words; `previews`: team
audio in the page), `queue`, `signin`, `uploads`, `plots` (every chart) and `song_page` (the
whole-song blocks of Analyze). Nothing below this layer imports it."""
