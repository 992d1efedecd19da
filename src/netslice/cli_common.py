"""What every command of the command line shares: the console, the progress option, the one-line error exit."""

from __future__ import annotations

import os

import typer
from rich.console import Console
from rich.markup import escape

#: Where the commands print (150 columns when the output is not a terminal).
console = Console(width=None if os.isatty(1) else 150)

#: The option of the long commands: seconds between two plain progress lines when not on a terminal.
PROGRESS_OPTION = typer.Option(
    min=0.0, help="When output is not a terminal: seconds between two progress lines (0: every update)."
)


def fail(err: Exception | str, code: int = 2) -> typer.Exit:
    """Print ``error: <message>`` on one logical line (no traceback, no markup) and return the exit to raise."""
    console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True)
    return typer.Exit(code)
