"""Prompt templates: a sandboxed Jinja2 environment with StrictUndefined."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import StrictUndefined, Template, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment


@lru_cache(maxsize=1)
def prompt_environment() -> ImmutableSandboxedEnvironment:
    """Workspace templates are untrusted: sandboxed, immutable, strict, no autoescape (plain text)."""
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


def template_variables(source: str) -> set[str]:
    """Names a template reads from its context (raises TemplateSyntaxError)."""
    env = prompt_environment()
    return meta.find_undeclared_variables(env.parse(source))


@lru_cache(maxsize=256)
def compile_template(source: str) -> Template:
    return prompt_environment().from_string(source)


def render(source: str, fields: dict) -> str:
    return compile_template(source).render(**fields)
