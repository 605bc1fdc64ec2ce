"""The PDF as a meeting reads it: pages, sections, verdicts, fonts, and nothing beyond the margins."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from pypdf import PdfReader

from tests.support.tools import run_tool

pytestmark = pytest.mark.pdf

SECTIONS = ["Decision summary", "Contents", "Hypotheses and evidence", "Scenarios: every metric side by side",
            "Which model is best", "Run-to-run variability", "Reproducibility appendix", "Latency under load",
            "Settings sensitivity", "Failure examples", "Trade-off", "roadtest replay", "roadtest rerun"]
MM = 72 / 25.4   # PDF points per millimetre


def pdf_text(run_dir) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(run_dir / "report.pdf")).pages)


def test_every_section_and_every_verdict_is_in_the_pdf(report_run):
    _, run_dir = report_run
    reader = PdfReader(str(run_dir / "report.pdf"))
    assert len(reader.pages) >= 5
    text = pdf_text(run_dir)
    for section in SECTIONS:
        assert section in text, section
    verdicts = json.loads((run_dir / "verdicts.json").read_text())
    for hyp in verdicts["hypotheses"]:
        assert hyp["title"] in text
        for cell in hyp["models"].values():
            assert cell["verdict"] in text
            for c in cell["criteria"]:
                assert c["verdict"] in text
    assert "page 1 of" in text and f"of {len(reader.pages)}" in text


def test_the_pdf_uses_only_the_font_installed_with_roadtest(report_run):
    _, run_dir = report_run
    fonts = run_tool("pdffonts", str(run_dir / "report.pdf"))
    names = [line.split()[0] for line in fonts.splitlines()[2:] if line.strip()]
    assert names and all("Source-Sans-Pro" in n for n in names), names


def _pages(pdf, tmp_path, dpi=40):
    """Each page as a greyscale array (pdftoppm, PGM)."""
    run_tool("pdftoppm", "-gray", "-r", str(dpi), str(pdf), str(tmp_path / "p"))
    pages = []
    for path in sorted(tmp_path.glob("p-*.pgm")):
        data = path.read_bytes()
        header = data.split(b"\n", 3)
        width, height = map(int, header[1].split())
        pages.append(np.frombuffer(header[3], dtype=np.uint8)[: width * height].reshape(height, width))
    return pages


def test_no_page_has_content_beyond_its_margins(report_run, tmp_path):
    _, run_dir = report_run
    dpi = 40
    px = dpi / 25.4                                   # pixels per millimetre
    pages = _pages(run_dir / "report.pdf", tmp_path, dpi)
    assert len(pages) == len(PdfReader(str(run_dir / "report.pdf")).pages)
    for number, page in enumerate(pages, 1):
        side = int(12 * px)                           # the page margin is 16 mm; nothing may reach into 12 mm of the edge
        top, bottom = int(5 * px), int(5 * px)        # header and page number sit between 5 and 16 mm
        for name, band in (("left", page[:, :side]), ("right", page[:, -side:]),
                           ("top", page[:top, :]), ("bottom", page[-bottom:, :])):
            assert band.min() > 200, f"page {number}: something is printed in the {name} margin"


def test_the_table_of_contents_gives_page_numbers(report_run):
    _, run_dir = report_run
    pages = [page.extract_text() for page in PdfReader(str(run_dir / "report.pdf")).pages]
    text = "\n".join(pages)
    entries = dict(re.findall(r"^(Which model is best|Reproducibility appendix|Decision summary) \.{5,}\s*(\d+)$", text,
                              re.M))
    assert set(entries) == {"Which model is best", "Reproducibility appendix", "Decision summary"}
    for title, number in entries.items():                       # each number points at the page with that heading
        assert title in pages[int(number) - 1]


HEADERS = ["Model", "Failure", "Item", "Output", "Level", "Achieved", "Calls", "Mean", "Errors", "Scenario", "Pair",
           "Difference", "Correlation", "Test", "Estimate", "Bounds", "Verdict", "Repeats", "ICC(1)"]


def _broken(word: str, text: str) -> list[str]:
    """Places where `word` was drawn in pieces ('Ite m', 'smollm2-135 m'): a line break or space inside it."""
    pattern = "|".join(re.escape(word[:i]) + r"[ \n]+" + re.escape(word[i:]) for i in range(1, len(word)))
    return [m.group(0) for m in re.finditer(rf"(?<![\w-])(?:{pattern})(?![\w-])", text)]


def test_no_header_or_id_is_split_in_the_pdf(report_run):
    """A4 squeezes the failure examples, the pairwise scan and the load table: columns must keep whole words."""
    _, run_dir = report_run
    text = pdf_text(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    models = list(metrics["models"])
    assert any(len(m) > 12 and "-" in m for m in models)          # a real-looking id, long and hyphenated
    items = {e["item"] for per_model in metrics["scenarios"].values() for entry in per_model.values()
             for kind in entry["failures"].values() for e in kind["examples"]}
    words = [*HEADERS, *models, *metrics["scenarios"], *items, "counterfactual", "violations"]
    for word in words:
        assert word in text, word
        assert _broken(word, text) == [], word


def test_the_appendix_discloses_every_setting_a_third_party_needs(report_run):
    _, run_dir = report_run
    text = " ".join(pdf_text(run_dir).split())          # lines joined: long values wrap in the PDF
    manifest = json.loads((run_dir / "manifest.json").read_text())
    first = json.loads((run_dir / "trials.jsonl").read_text().splitlines()[0])
    for needle in ("The run", "workspace revision", "started", "First request to", "exactly as sent",
                   "log-probabilities", "in flight", "timeout", "system_fingerprint", f"roadtest replay {run_dir.name}", "give the run's folder"):
        assert needle in text, needle
    assert manifest["started_at"] in text
    for endpoint in manifest["endpoints"].values():          # the whole GGUF sha256, not a prefix
        if endpoint.get("gguf_sha256"):
            assert endpoint["gguf_sha256"] in text.replace(" ", "")
    shown = first["request"]["body"].get("prompt") or first["request"]["body"]["messages"][-1]["content"]
    assert " ".join(shown.split()) in text                  # the prompt exactly as sent
