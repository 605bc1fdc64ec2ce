"""Tables for the terminal that never cut a word: ids, metric names and numbers stay whole at any width.

A table whose narrowest layout (every column as wide as its longest word) still does not fit the terminal is
printed as records instead, one `column: value` line per cell, so nothing is ever replaced by an ellipsis.
"""

from __future__ import annotations

import io
from typing import Sequence

from rich.console import Console
from rich.padding import Padding
from rich.table import Column, Table
from rich.text import Text


def print_table(console: Console, headers: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None,
                caption: str | None = None) -> None:
    """Print rows under headers: a table when every word fits the terminal, records otherwise."""
    table = _table(headers, rows, title, caption)
    if _fits(table, console.width):
        console.print(table, soft_wrap=False)
        return
    if title:
        console.print(title)
    for row in rows:
        first, *rest = [str(cell) for cell in row]
        console.print(Text(f"{headers[0]}: {first}"), soft_wrap=False)
        for header, cell in zip(headers[1:], rest):
            if cell:
                console.print(Padding(Text(f"{header}: {cell}"), (0, 0, 0, 2), expand=False), soft_wrap=False)
    if caption:
        console.print(caption, markup=False)


def _fits(table: Table, width: int) -> bool:
    """Rendered at this width, no line is wider (rich lets a table overflow rather than cut a column's minimum)."""
    buffer = io.StringIO()
    probe = Console(width=width, file=buffer, color_system=None, legacy_windows=False)
    probe.print(table, crop=False)
    return all(len(line) <= width for line in buffer.getvalue().splitlines())


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None, caption: str | None) -> Table:
    columns = [Column(Text(h), min_width=_longest_word([h, *(str(r[i]) for r in rows)]), overflow="fold")
               for i, h in enumerate(headers)]
    table = Table(*columns, title=title, title_justify="left", caption=caption, caption_justify="left")
    for row in rows:
        table.add_row(*(Text(str(cell)) for cell in row))
    return table


def _longest_word(cells: Sequence[str]) -> int:
    return max((len(word) for cell in cells for word in cell.split()), default=1)
