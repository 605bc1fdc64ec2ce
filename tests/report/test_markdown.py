from __future__ import annotations

from roadtest.report.markdown import render_markdown


def test_raw_html_is_shown_as_text():
    html = str(render_markdown('Hello <script>alert(1)</script> <img src=x onerror="alert(2)">'))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_unsafe_links_and_images_are_not_rendered():
    html = str(render_markdown("[x](javascript:alert(1)) ![p](file:///etc/passwd) [ok](https://example.org)"))
    assert 'href="javascript' not in html and 'href="file' not in html
    assert "<img" not in html and "src=" not in html   # shown as text, never fetched
    assert 'href="https://example.org"' in html
    html = str(render_markdown("![logo](logo.png)"))
    assert "<img" not in html and "[image: logo]" in html


def test_markdown_still_renders():
    html = str(render_markdown("# Title\n\nSome **bold** text."))
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
