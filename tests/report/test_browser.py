"""The HTML in headless Chromium (Debian's chromium, never a downloaded browser): no console errors, no
request beyond the file itself, hostile text shown as text, nothing fetched from file:///etc/passwd."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import sync_playwright

from tests.report.conftest import XSS_IMG, XSS_SCRIPT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page_visit(report_run, tmp_path_factory):
    assert CHROMIUM, "chromium is not installed (.ci/run installs Debian's chromium package)"
    _, run_dir = report_run
    url = (run_dir / "report.html").as_uri()
    shots = tmp_path_factory.mktemp("shots")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        visits = {}
        for name, viewport in (("laptop", {"width": 1366, "height": 900}), ("phone", {"width": 390, "height": 844})):
            page = browser.new_page(viewport=viewport)
            console, requests, dialogs = [], [], []
            page.on("console", lambda m, c=console: c.append((m.type, m.text)))
            page.on("pageerror", lambda e, c=console: c.append(("pageerror", str(e))))
            page.on("request", lambda r, q=requests: q.append(r.url))
            page.on("dialog", lambda d, s=dialogs: (s.append(d.message), d.dismiss()))
            page.goto(url)
            page.wait_for_load_state("load")
            shot = shots / f"{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            visits[name] = {
                "console": console, "requests": requests, "dialogs": dialogs, "shot": shot,
                "text": page.inner_text("body"), "scripts": page.eval_on_selector_all("script", "e => e.length"),
                "handlers": page.eval_on_selector_all("[onerror], [onclick]", "e => e.length"),
                "images": page.eval_on_selector_all("img", "e => e.map(i => i.src)"),
                "overflow": page.evaluate("document.documentElement.scrollWidth - window.innerWidth"),
            }
            page.close()
        browser.close()
    return url, visits


def test_no_console_errors_and_no_request_beyond_the_file(page_visit):
    url, visits = page_visit
    for name, v in visits.items():
        assert [c for c in v["console"] if c[0] in ("error", "pageerror")] == [], name
        assert v["requests"] == [url], name
        assert v["shot"].stat().st_size > 10_000


def test_hostile_model_output_is_shown_as_text(page_visit):
    _, visits = page_visit
    v = visits["laptop"]
    assert v["scripts"] == 0 and v["handlers"] == 0 and v["dialogs"] == []
    assert XSS_SCRIPT in v["text"] or "alert('xss-script')" in v["text"]
    assert "onerror" in v["text"]                                       # the img payload, as text


def test_raw_html_and_file_images_in_the_hypothesis_are_neither_rendered_nor_fetched(page_visit):
    _, visits = page_visit
    v = visits["laptop"]
    assert "<script>alert('xss-body')</script>" in v["text"]
    assert '<img src="file:///etc/passwd">' in v["text"]
    assert v["images"] == []
    assert not any("passwd" in r for r in v["requests"])


def test_readable_on_a_phone(page_visit):
    _, visits = page_visit
    assert visits["phone"]["overflow"] <= 1        # no sideways scrolling of the page itself
