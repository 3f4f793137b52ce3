"""EmotioNet for beets: each track's mood, valence, energy, BPM and key as beets fields.

    # config.yaml
    pluginpath: [/path/to/EmotioNet/beetsplug]
    plugins: emotionet
    emotionet:
        auto: yes          # analyse on import (an import stage)
        preset: whole      # or overnight (quicker: scan --preset overnight)
        workers: 1         # analysis processes for `beet emotionet` (the import stage uses one)
        overwrite: no      # replace a bpm / initial_key that is already set

    beet import ~/Music/new            # fields set as the tracks come in
    beet emotionet [QUERY]             # the tracks matched (those without a mood; -f: all of them)
    beet ls mood:calm valence:0.6..    # flexible attributes, numeric ranges work

`mood` (happy / aggressive / sad / calm), `valence` and `energy` (0-1, the listener scale; energy
is EmotioNet's arousal) are flexible attributes; the tempo goes into beets' own `bpm` and the key
into `initial_key` ("Am", "F#"), which `beet write` writes to the files, only where they are empty
unless `overwrite`. `emotionet_models` records which models answered. The analysis goes through
EmotioNet's library (`emotionet.library.scan.scan_files`, cached by content), so a track known to
`python -m emotionet scan` is not analysed again, and the values are those `python -m emotionet tag`
writes. The beets process must be able to import `emotionet` (run beets from EmotioNet's virtual
environment).
"""

from __future__ import annotations

import os

from beets import dbcore, ui
from beets.plugins import BeetsPlugin

FLEXIBLE = ("mood", "valence", "energy")


class EmotioNetPlugin(BeetsPlugin):
    item_types = {"mood": dbcore.types.STRING, "valence": dbcore.types.FLOAT, "energy": dbcore.types.FLOAT}

    def __init__(self):
        super().__init__()
        self.config.add({"auto": True, "preset": "whole", "workers": 1, "overwrite": False})
        if self.config["auto"].get(bool):
            self.import_stages = [self.imported]

    def commands(self):
        command = ui.Subcommand("emotionet", help="set mood, valence, energy, bpm and key from EmotioNet")
        command.parser.add_option(
            "-f", "--force", action="store_true", default=False, help="also the tracks that have a mood already"
        )
        command.parser.add_option(
            "--overwrite", action="store_true", default=None, help="replace a bpm or initial_key already set"
        )
        command.func = self.command
        return [command]

    def command(self, lib, opts, args):
        items = [i for i in lib.items(args) if opts.force or not i.get("mood")]
        self.analyse(items, workers=self.config["workers"].get(int), overwrite=opts.overwrite)

    def imported(self, session, task):
        self.analyse(task.imported_items(), workers=1)

    def analyse(self, items, workers: int | None = 1, overwrite: bool | None = None) -> int:
        """Analyse `items` (through EmotioNet's cached library) and store their fields; returns how
        many were set. A file that cannot be analysed is logged and left as it was."""
        from emotionet.library import scan, store, tags
        from emotionet.library.paths import text_to_path
        from emotionet.io import database

        items = list(items)
        if not items:
            return 0
        overwrite = self.config["overwrite"].get(bool) if overwrite is None else overwrite
        paths = [os.fsdecode(item.path) for item in items]
        engine = database.make_engine()
        result = scan.scan_files(paths, engine, workers=workers, preset=self.config["preset"].as_str())
        rows = store.stored_rows(engine, [s.hash for s in result.songs])
        for path, why in result.failed.items():
            self._log.warning("{}: not analysed: {}", path, why)
        by_path = {os.path.realpath(text_to_path(s.path)): s for s in result.songs}
        done = 0
        for item, path in zip(items, paths):
            song = by_path.get(os.path.realpath(path))
            if song is None:
                continue
            values = tags.tag_values(song.extra["analysis"])
            item["mood"] = values["mood"]
            item["valence"], item["energy"] = float(values["valence"]), float(values["energy"])
            if "bpm" in values and (overwrite or not item.get("bpm")):
                item.bpm = int(values["bpm"])
            if "key" in values and (overwrite or not item.get("initial_key")):
                item.initial_key = values["key"]
            if song.hash in rows:
                item["emotionet_models"] = rows[song.hash].models
            item.store()
            done += 1
            self._log.info("{}: {} (valence {}, energy {})", path, values["mood"], values["valence"], values["energy"])
        return done
