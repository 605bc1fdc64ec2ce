"""Workspace Markdown, rendered safely: raw HTML off, unsafe link schemes refused."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_SAFE_SCHEMES = ("http:", "https:", "mailto:", "#")


def _validate_link(url: str) -> bool:
    lowered = url.strip().lower()
    if ":" not in lowered.split("/")[0]:
        return not lowered.startswith("//")  # relative links stay in the report's folder
    return lowered.startswith(_SAFE_SCHEMES)


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = _validate_link  # type: ignore[method-assign]  # overriding it is how markdown-it-py is configured
    md.enable("table")
    return md


_MD = _renderer()


def render_markdown(text: str) -> Markup:
    """HTML from Markdown with raw HTML shown as text and images never fetched from outside."""
    tokens = _MD.parse(text or "")
    for token in tokens:
        for child in token.children or []:
            if child.type == "image":  # images are replaced by their alt text: the report fetches nothing
                child.type = "text"
                child.tag = ""
                child.content = f"[image: {child.content or child.attrGet('src') or ''}]"
                child.children = None
    return Markup(_MD.renderer.render(tokens, _MD.options, {}))
