"""The PDF renderer fetches nothing outside the report's folder and roadtest's own font."""

from __future__ import annotations

import pytest

from roadtest.report.render import _fetcher_class, font_directory, write_pdf


def test_fetcher_refuses_everything_outside(tmp_path):
    inside = tmp_path / "logo.svg"
    inside.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')
    fetcher = _fetcher_class()(tmp_path, font_directory())
    assert fetcher.fetch(inside.as_uri()) is not None
    for url in ("file:///etc/passwd", "http://127.0.0.1:9/x.png", "https://example.org/x.css",
                (tmp_path.parent / "x").as_uri(), (tmp_path / ".." / ".." / "etc" / "passwd").as_uri()):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)


@pytest.mark.pdf
def test_a_hostile_page_renders_without_fetching(tmp_path):
    html = ('<html><body><p>x</p><img src="file:///etc/passwd"><link rel="stylesheet" href="http://127.0.0.1:9/a.css">'
            '<img src="http://127.0.0.1:9/b.png"></body></html>')
    target = tmp_path / "r.pdf"
    write_pdf(html, tmp_path, target)      # must not raise, must not hang on the network
    assert target.read_bytes().startswith(b"%PDF")
    assert b"root:" not in target.read_bytes()
