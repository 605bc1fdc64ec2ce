"""System tools a test needs: missing ones fail the test with the Debian package to install, never a bare
FileNotFoundError. `make install` installs them all (scripts/system-packages.sh)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

PACKAGES = {"pdftoppm": "poppler-utils", "pdffonts": "poppler-utils", "chromium": "chromium",
            "libharfbuzz-subset.so": "libharfbuzz-subset0"}


def _missing(what: str, package: str) -> None:
    pytest.fail(f"{what} is not installed: it comes with the Debian package {package}. "
                f"`make install` installs it (or: apt-get install {package})", pytrace=False)


def require_command(*names: str) -> str:
    """The path of the first of `names` on PATH; fail naming the package when none is."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    _missing(names[0], PACKAGES[names[0]])


def require_library(soname: str) -> None:
    """A shared library the dynamic loader knows (ldconfig -p); fail naming the package when it does not."""
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    listing = subprocess.run([ldconfig, "-p"], capture_output=True, text=True).stdout
    if soname not in listing:
        _missing(soname, next(package for prefix, package in PACKAGES.items() if soname.startswith(prefix)))


def run_tool(*args: str) -> str:
    """Run a command-line tool (checked first) and return its stdout."""
    require_command(args[0])
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout
