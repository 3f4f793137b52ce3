"""A listener's or a catalogue's songs: each analysed once, and the playlists built from them.

songs      the library itself: scan folders into the database (by content hash), load songs,
           and the store's public functions other scan engines (emotionet.scale) write through
playlists  pure functions over analysed songs on the valence-arousal plane

The `scan` and `playlist` commands are in `emotionet.library_cli`; nothing here imports it or
`emotionet.scale`.

Nothing heavy is imported here: import the module you need.
"""
