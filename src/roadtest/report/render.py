"""View -> HTML (Jinja2, autoescaped, StrictUndefined) -> PDF (weasyprint, fetching nothing outside)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, TemplateError, TemplateNotFound

from roadtest.errors import RoadtestError
from roadtest.report.formatting import with_ids
from roadtest.report.view import ReportView
from roadtest.sandbox import REPORT_OUTPUT, REPORT_SECONDS, render_stream, sandbox, time_budget

TEMPLATE = "report.html.j2"


def default_templates() -> Path:
    """The templates shipped with roadtest (in the wheel, or in the source checkout)."""
    packaged = Path(__file__).resolve().parent.parent / "report_templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "report_templates"


MAX_TEMPLATE_BYTES = 1_000_000
"""A workspace template (or report.css) larger than this is refused."""


class WorkspaceTemplates(FileSystemLoader):
    """A workspace's report_templates/: only regular files inside the folder, never through a symlink.

    Workspaces come from other people: a `report.css` that links to /etc/passwd must not put it in the report.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = folder.resolve()

    def get_source(self, environment, template):
        path = self.folder / template
        if not path.exists() and not path.is_symlink():
            raise TemplateNotFound(template)
        problem = _unsafe(path, self.folder)
        if problem:
            raise RoadtestError(f"{path}: {problem}", "report templates must be regular files inside the "
                                "workspace's report_templates/ folder; replace the link by a copy of the file")
        return super().get_source(environment, template)


def _unsafe(path: Path, folder: Path) -> str | None:
    current = path
    while current != folder and folder in current.parents:
        if current.is_symlink():
            return "is a symbolic link; roadtest never follows links in a workspace's report templates"
        current = current.parent
    if not path.resolve().is_relative_to(folder):
        return "is outside the workspace's report_templates/ folder"
    if not path.is_file():
        return "is not a regular file"
    if path.stat().st_size > MAX_TEMPLATE_BYTES:
        return f"is larger than {MAX_TEMPLATE_BYTES:,} bytes"
    return None


def environment(workspace_templates: Path | None = None):
    """Workspace templates override the defaults file by file; every template renders in roadtest's sandbox."""
    loaders: list[BaseLoader] = []
    if workspace_templates is not None and workspace_templates.is_dir() and not workspace_templates.is_symlink():
        loaders.append(WorkspaceTemplates(workspace_templates))
    loaders.append(FileSystemLoader(str(default_templates())))
    env = sandbox(ChoiceLoader(loaders), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["ids"] = with_ids
    return env


def render_page(name: str, context: dict, workspace_templates: Path | None = None) -> str:
    """A report page (the decision document, the diff page) rendered in the sandbox, with budgets."""
    try:
        with time_budget(REPORT_SECONDS, "compiling the report templates"):
            template = environment(workspace_templates).get_template(name)
        return render_stream(template, context, max_output=REPORT_OUTPUT, seconds=REPORT_SECONDS,
                             what="the report")
    except TemplateError as exc:
        raise _template_problem(exc, workspace_templates) from None
    except RecursionError:
        raise RoadtestError("a report template nests too deeply", "simplify your override in report_templates/")


def render_html(view: ReportView, workspace_templates: Path | None = None) -> str:
    return render_page(TEMPLATE, {"r": view}, workspace_templates)


def _template_problem(exc: TemplateError, workspace_templates: Path | None) -> RoadtestError:
    """Name the template file and line (a workspace override, most likely) without a traceback."""
    name, line = getattr(exc, "filename", None) or getattr(exc, "name", None), getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".j2", ".css")):
            name, line = filename, tb.tb_lineno
        tb = tb.tb_next
    where = f"{name}:{line}" if name and line else (name or "a report template")
    override = workspace_templates is not None and name and str(name).startswith(str(workspace_templates))
    hint = ("fix or remove your override in report_templates/" if override else
            "the templates roadtest ships should not fail; please report it")
    return RoadtestError(f"{where}: report template error: {exc.message or exc}", hint)


def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class FolderFetcher(URLFetcher):
        """Only file:// URLs inside the report folder or roadtest's own fonts (and inline data: URLs);
        no network, nothing else."""

        def __init__(self, *folders: Path) -> None:
            super().__init__(timeout=1, allowed_protocols={"file", "data"})
            self.folders = [f.resolve() for f in folders]

        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if not any(path.is_relative_to(folder) for folder in self.folders):
                    raise ValueError(f"refused: {url} is outside the report folder")
            elif parsed.scheme != "data":
                raise ValueError(f"refused: {url} (the report fetches nothing from the network)")
            return super().fetch(url, headers)

    return FolderFetcher


FACES = [("Regular", 400, "normal"), ("It", 400, "italic"), ("Semibold", 600, "normal"), ("Bold", 700, "normal"),
         ("BoldIt", 700, "italic")]


def font_directory() -> Path:
    """Source Sans Pro, installed with roadtest (PyPI package font-source-sans-pro)."""
    import font_source_sans_pro

    return Path(font_source_sans_pro.font_directory)


def font_faces() -> str:
    folder = font_directory()
    return "\n".join(
        f'@font-face {{ font-family: "Source Sans Pro"; src: url("{(folder / f"SourceSansPro-{name}.ttf").as_uri()}"); '
        f"font-weight: {weight}; font-style: {style}; }}" for name, weight, style in FACES)


PDF_EPOCH = "0"
"""SOURCE_DATE_EPOCH while a PDF is written. Without HarfBuzz-subset, weasyprint subsets fonts with fontTools,
which stamps each font's `head.modified` with the current time: two renders of one report a second apart
differed. Pinned, both subsetters give the same bytes for the same report, every time."""


def font_subsetter() -> str:
    """'harfbuzz' when weasyprint can use HarfBuzz-subset (libharfbuzz-subset0), else 'fonttools'."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return "harfbuzz" if harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0) else "fonttools"


@contextmanager
def _pinned_epoch():
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = PDF_EPOCH
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def write_pdf(html: str, folder: Path, target: Path) -> None:
    """A4 PDF from the report HTML, with roadtest's own font; fetches nothing outside the report folder.

    The same HTML gives the same bytes on every render (font timestamps pinned, see PDF_EPOCH).
    """
    import logging

    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    fetcher = _fetcher_class()(folder, font_directory())
    fonts = FontConfiguration()
    faces = CSS(string=font_faces(), font_config=fonts, url_fetcher=fetcher)
    with _pinned_epoch():
        HTML(string=html, base_url=str(folder) + "/", url_fetcher=fetcher).write_pdf(
            str(target), stylesheets=[faces], font_config=fonts)
