"""How the app is served: bound to this machine unless asked, no tracebacks for visitors, an upload
cap with room for a full song, and user text that cannot turn into Markdown."""

from __future__ import annotations

import re
import subprocess
import tomllib

from emotionet.app import webapp
from tests.conftest import REPO

CONFIG = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())


def test_the_app_listens_on_this_machine_only_and_hides_error_details():
    assert CONFIG["server"]["address"] == "127.0.0.1"
    assert CONFIG["client"]["showErrorDetails"] == "none"


def test_the_upload_cap_takes_a_six_minute_wav():
    assert CONFIG["server"]["maxUploadSize"] >= 200  # a 6-minute CD-quality WAV is about 65 MB


def _make_run(*args: str) -> str:
    out = subprocess.run(["make", "-n", "run", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "streamlit run" in line][-1]


def test_make_run_binds_to_localhost_unless_an_address_is_given():
    assert "--server.address 127.0.0.1" in _make_run()
    assert "--server.address 0.0.0.0" in _make_run("ADDRESS=0.0.0.0")


def test_plain_escapes_what_markdown_would_act_on():
    escaped = webapp.plain("![p](http://host/pixel.png) <img src=x> *bold* `code` $x$ :red[hi]")
    assert not re.search(r"(?<!\\)[\[\]<>*`$]", escaped)  # every such character is escaped
    assert "http://" not in escaped  # no autolink
    assert webapp.plain("broken.mp3") == "broken.mp3"  # ordinary names read as typed
