"""The HTML in headless Chromium (Debian's chromium, never a downloaded browser): no console errors, no
request beyond the file itself, hostile text shown as text, nothing fetched from file:///etc/passwd."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import sync_playwright

from tests.support.tools import require_command
from tests.report.conftest import TOXIC, XSS_IMG, XSS_SCRIPT, XSS_SWAP

pytestmark = pytest.mark.browser
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


CELLS_JS = """() => {
  const text = e => e.textContent.trim().slice(0, 60);
  // a cell (or badge) whose content is wider than the box it sits in: cut off, or spilling into the next cell
  const overflowing = [...document.querySelectorAll('td, th, .badge')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(text);
  // a badge that does not lie wholly inside its cell
  const clipped = [...document.querySelectorAll('td .badge')].filter(b => {
    const r = b.getBoundingClientRect(), c = b.closest('td').getBoundingClientRect();
    return r.width === 0 || r.left < c.left - 1 || r.right > c.right + 1;
  }).map(text);
  // a word drawn on two lines: '0.30' + '0', 'Hol' + 'm'. Numbers, ids, badges and headers never break; in prose
  // only a hyphen may end a line; model output (code) and settings (long patterns) may break anywhere.
  const split = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (el.closest('code, pre, table.settings td')) continue;
      const strict = !!el.closest('td.num, th, .id, .badge') && !el.closest('.method');   // a method's name is prose
      for (const m of node.textContent.matchAll(/\\S+/g)) {
        if (!strict && m[0].includes('-')) continue;
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) split.push(m[0]);
      }
    }
  }
  return {overflowing, clipped, split, badges: document.querySelectorAll('td .badge').length,
          nowrap: [...document.querySelectorAll('td.num, th, td .id, .badge')]
                    .filter(e => getComputedStyle(e).whiteSpace !== 'nowrap').map(text),
          unwrapped: [...document.querySelectorAll('table')].filter(t => !t.closest('.table-wrap')).length};
}"""
ICC_JS = """() => ({
  scenario: [...document.querySelectorAll('table.comparison tr')]
    .filter(r => r.cells.length > 1 && r.cells[0].textContent.trim().startsWith('icc '))
    .flatMap(r => [...r.cells].slice(1).map(c => c.firstChild.textContent.trim())),
  variability: [...document.querySelectorAll('table.variability tbody tr')].map(r => r.cells[6].textContent.trim()),
})"""


def visit(run_dir, shots):
    """The report in Chromium on a laptop and on a phone: what each saw, and the layout checks."""
    chromium = require_command("chromium", "chromium-browser")
    url = (run_dir / "report.html").as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
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
                "cells": page.evaluate(CELLS_JS), "icc": page.evaluate(ICC_JS),
            }
            page.close()
        browser.close()
    return url, visits


@pytest.fixture(scope="module")
def page_visit(report_run, tmp_path_factory):
    return visit(report_run[1], tmp_path_factory.mktemp("shots"))


@pytest.fixture(scope="module")
def stub_visit(stub_run, tmp_path_factory):
    """The canned three-model run: NOT DECIDED cells, settings tables, the scan with its pointers."""
    return visit(stub_run[1], tmp_path_factory.mktemp("stub-shots"))


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


@pytest.mark.parametrize("which", ["page_visit", "stub_visit"])
def test_on_a_phone_every_cell_is_whole_and_every_badge_visible(which, request):
    """390 px: numbers, ids and headers never break inside a word; wide tables scroll sideways in their wrapper
    instead of squeezing their cells; no cell's content overflows it and no verdict badge is cut off."""
    _, visits = request.getfixturevalue(which)
    assert visits["phone"]["overflow"] <= 1
    for name in ("phone", "laptop"):
        cells = visits[name]["cells"]
        assert cells["badges"] > 0
        assert cells["overflowing"] == [], name
        assert cells["clipped"] == [], name
        assert cells["split"] == [], name
        assert cells["nowrap"] == [] and cells["unwrapped"] == 0, name


def test_icc_reads_the_same_in_the_scenario_table_and_the_variability_table(page_visit):
    _, visits = page_visit
    icc = visits["laptop"]["icc"]
    shown = [v for v in icc["scenario"] if v not in ("n/a", "—")]
    assert shown and sorted(shown) == sorted(v for v in icc["variability"] if v != "—")


def test_the_document_says_where_its_numbers_come_from(page_visit):
    _, visits = page_visit
    text = visits["laptop"]["text"]
    # page 1 counts every call, and names the original ones
    lines = re.findall(r"(\d+) failed of ([\d,]+) calls; ([\d,]+) original", text)
    assert len(lines) == 2
    assert all(int(total.replace(",", "")) > int(original.replace(",", "")) for _, total, original in lines)
    assert "over all scenarios' original calls timed live (n = " in text and "warm-up call" in text
    # the load table does not claim the normal row never came from the cache
    assert "never from the cache" not in text
    assert "never answered from the response cache" in text and 'The "normal" row' in text
    # P(rank) is described, the best-model set is the claim
    assert "The best on accuracy is in {" in text and "descriptive" in text
    # every kind of failure example, with real outputs shown as text
    for kind in ("wrong answers", "policy violations", "toxic outputs", "counterfactual flips"):
        assert kind in text, kind
    assert XSS_SWAP in text and TOXIC in text
    assert "matches forbidden" in text
