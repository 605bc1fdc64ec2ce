"""Prompt templates: roadtest's sandbox (roadtest.sandbox) with StrictUndefined and budgets."""

from __future__ import annotations

from jinja2 import Template

from roadtest.sandbox import compile_text, render_text, text_variables


def template_variables(source: str) -> frozenset[str]:
    """Names a template reads from its context (raises TemplateSyntaxError or TemplateBudgetError)."""
    return text_variables(source)


def compile_template(source: str) -> Template:
    return compile_text(source)


def render(source: str, fields: dict) -> str:
    return render_text(source, fields)
