"""The command line: the only place that prints or exits."""

from roadtest.cli.app import app, main

__all__ = ["app", "main"]
