"""A listener's or a catalogue's songs: each analysed once, and the playlists built from them.

store      the library itself: its tables (by content hash), queries, the models' fingerprints, and
           the functions every scan engine (this one, emotionet.scale's) writes through
scan       finding, hashing and analysing files into the store, with one `ScanOptions`
songs      both modules' names in one place, for older code
playlists  pure functions over analysed songs on the valence-arousal plane
tags       the analyses written into the files' own tags, and `tagfile` the tag formats underneath
audio_features, track   the Spotify-named table and the file's own measures

The `scan`, `playlist`, `tag` and `export` commands are in `emotionet.cli.library`; nothing here imports it or
`emotionet.scale`.

Nothing heavy is imported here: import the module you need.
"""
