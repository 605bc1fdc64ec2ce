"""View -> HTML (Jinja2, autoescaped, StrictUndefined) -> PDF (weasyprint, fetching nothing outside)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from roadtest.report.view import ReportView

TEMPLATE = "report.html.j2"


def default_templates() -> Path:
    """The templates shipped with roadtest (in the wheel, or in the source checkout)."""
    packaged = Path(__file__).resolve().parent.parent / "report_templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "report_templates"


def environment(workspace_templates: Path | None = None) -> Environment:
    """Workspace templates override the defaults file by file."""
    loaders = []
    if workspace_templates is not None and workspace_templates.is_dir():
        loaders.append(FileSystemLoader(str(workspace_templates)))
    loaders.append(FileSystemLoader(str(default_templates())))
    return Environment(loader=ChoiceLoader(loaders), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def render_html(view: ReportView, workspace_templates: Path | None = None) -> str:
    return environment(workspace_templates).get_template(TEMPLATE).render(r=view)


def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class FolderFetcher(URLFetcher):
        """Only file:// URLs inside one folder (and inline data: URLs); no network, nothing else."""

        def __init__(self, folder: Path) -> None:
            super().__init__(timeout=1, allowed_protocols={"file", "data"})
            self.folder = folder.resolve()

        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if not path.is_relative_to(self.folder):
                    raise ValueError(f"refused: {url} is outside the report folder")
            elif parsed.scheme != "data":
                raise ValueError(f"refused: {url} (the report fetches nothing from the network)")
            return super().fetch(url, headers)

    return FolderFetcher


def write_pdf(html: str, folder: Path, target: Path) -> None:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html, base_url=str(folder) + "/", url_fetcher=_fetcher_class()(folder)).write_pdf(str(target))
