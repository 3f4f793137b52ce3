"""A listener's or a catalogue's songs: each analysed once, and the playlists built from them.

songs      the library itself: scan folders into the database (by content hash), load songs,
           the `scan` and `playlist` commands
playlists  pure functions over analysed songs on the valence-arousal plane
args       those commands' arguments, importable without the database layer (SQLAlchemy), so
           `python -m emotionet analyze` does not pay for it

Nothing heavy is imported here: import the module you need.
"""
