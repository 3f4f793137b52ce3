"""User text made safe where the pages show it: inside Markdown (`plain`) and inside Plotly's
hover labels (`plain_html`). Every page and block escapes names, titles and reasons through these."""

from __future__ import annotations

_MARKDOWN_SPECIAL = set("\\`*_{}[]<>#|~$:&")  # links, images, HTML, emphasis, code, LaTeX, :emoji:
NO_LINK = "\u2060"  # WORD JOINER, invisible: before a ':' or '@' and inside "www." it stops Streamlit's autolinks


def plain(text) -> str:
    """User text (titles, file names, sources, licences, names) made safe inside Markdown: every
    character Markdown or Streamlit could act on is backslash-escaped, so `![p](http://host/x.png)`
    shows as those characters and no rater's browser fetches anything; and nothing in it becomes a
    link: Streamlit links bare URLs, www. addresses and e-mail addresses even when escaped, so an
    invisible NO_LINK goes before every ':' and '@' and inside "www.". Use st.text where possible."""
    words = " ".join(str(text).split())
    out = []
    for i, c in enumerate(words):
        if c in ":@" or (c == "." and words[max(0, i - 3) : i].lower() == "www"):
            out.append(NO_LINK)
        out.append("\\" + c if c in _MARKDOWN_SPECIAL else c)
    return "".join(out)


def plain_html(text) -> str:
    """User text for Plotly hover labels and annotations, which understand a few HTML tags."""
    import html

    return html.escape(str(text))
