"""The base of every spec model: frozen, no unknown keys, a docstring per field."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class Spec(BaseModel):
    """Inert description of what the user wrote. No I/O here. Numbers are finite: YAML's .nan and .inf are refused."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        str_strip_whitespace=False,
        allow_inf_nan=False,
    )


Ident = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
]
"""An identifier: letters, digits, '.', '_' and '-', at most 64 characters."""
