"""What every archive record model shares: strict types (an int stays an int, a float a float, so a record dumps
back to the very bytes it was read from), a docstring under each field, and a dump that writes only what was read.

Records are *open* (unknown keys kept and written back: an archive from a later roadtest of the same schema
version must still be read) unless the format is closed (`Closed`: a fixed little record roadtest owns whole).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError


def _number(value: Any) -> Union[int, float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"a number is wanted, not {type(value).__name__}")
    return value


Number = Annotated[Union[int, float], PlainValidator(_number)]
"""A JSON number as written: 11 stays 11 and 11.0 stays 11.0 (canonical JSON writes them differently)."""
_TAGS = {"str", "int", "float", "bool", "none", "dict", "list"}


def first_problem(exc: ValidationError) -> str:
    """The first thing wrong, as `field.path: message` (without pydantic's union-member steps in the path)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())
                     if not (isinstance(p, str) and (p in _TAGS or "[" in p))) or "(top)"
    return f"{where}: {first.get('msg')}"[:200]


class Record(BaseModel):
    """An archive record: strict, documented, open to keys it does not name, and frozen (a cached record is
    shared: change a dumped copy and write that)."""

    model_config = ConfigDict(strict=True, extra="allow", use_attribute_docstrings=True, allow_inf_nan=False,
                              validate_default=False, protected_namespaces=(), frozen=True)

    def dump(self) -> dict[str, Any]:
        """The record as the JSON object it was read from (or will be written as): the keys it was given, no
        defaults added, unknown keys kept."""
        return self.model_dump(exclude_unset=True)


class Closed(Record):
    """A record whose keys are all known: an unknown one is an error."""

    model_config = ConfigDict(extra="forbid")
