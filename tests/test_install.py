"""The one install path: scripts/system-packages.sh installs what is missing through apt-get (as root, or with
sudo when it needs no password) or stops with one message naming the exact command; missing test tools fail a test
with the package to install, never a bare FileNotFoundError."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import tools

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "system-packages.sh"
ALL = ["libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "g++", "cmake", "poppler-utils", "chromium"]


def fake_machine(tmp_path: Path, uid: int, sudo: bool, apt: bool = True) -> tuple[Path, Path]:
    """A PATH with nothing installed: ldconfig lists no library, and id, sudo and apt-get only log their calls."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    scripts = {"ldconfig": "exit 0", "id": f"echo {uid}", "python3": "exit 0",
               "sudo": f'echo "sudo $*" >> {log}; [ "$1" = -n ] && shift; "$@"'}
    if apt:
        scripts["apt-get"] = f'echo "apt-get $*" >> {log}'
    for name, body in scripts.items():
        if name == "sudo" and not sudo:
            continue
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    for tool in ("bash", "grep", "cat", "tail", "mktemp", "echo"):      # what the script itself runs
        real = subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
        if real.startswith("/"):
            (bin_dir / tool).symlink_to(real)
    return bin_dir, log


def run_script(bin_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "bash"), str(SCRIPT)], capture_output=True, text=True, timeout=60,
                          env={"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/tmp")})


def test_without_root_or_sudo_it_stops_with_the_exact_command(tmp_path):
    bin_dir, log = fake_machine(tmp_path, uid=1000, sudo=False)
    proc = run_script(bin_dir)
    assert proc.returncode == 1
    assert "apt-get update && apt-get install -y " + " ".join(ALL) in proc.stderr
    assert not log.exists()                                   # nothing was attempted


def test_as_root_it_installs_what_is_missing_then_checks_again(tmp_path):
    bin_dir, log = fake_machine(tmp_path, uid=0, sudo=False)
    proc = run_script(bin_dir)
    calls = log.read_text()
    assert "apt-get update" in calls and "apt-get install -y -qq " + " ".join(ALL) in calls
    assert proc.returncode == 1 and "still missing" in proc.stderr     # the fake apt-get installed nothing


def test_with_passwordless_sudo_it_uses_sudo(tmp_path):
    bin_dir, log = fake_machine(tmp_path, uid=1000, sudo=True)
    run_script(bin_dir)
    assert "sudo -n apt-get install -y -qq" in log.read_text()


def test_without_apt_get_it_names_the_packages(tmp_path):
    bin_dir, log = fake_machine(tmp_path, uid=0, sudo=False, apt=False)
    proc = run_script(bin_dir)
    assert proc.returncode == 1 and "no apt-get" in proc.stderr and "libharfbuzz-subset0" in proc.stderr


def test_this_machine_has_everything():
    """`make install` ran here: the script finds nothing missing and changes nothing."""
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr


def test_a_missing_tool_fails_naming_its_package(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(pytest.fail.Exception, match="poppler-utils"):
        tools.run_tool("pdftoppm", "-v")
    with pytest.raises(pytest.fail.Exception, match="Debian package chromium"):
        tools.require_command("chromium", "chromium-browser")


def test_a_missing_library_fails_naming_its_package(monkeypatch):
    with pytest.raises(pytest.fail.Exception, match="libharfbuzz-subset0"):
        tools.require_library("libharfbuzz-subset.so.does-not-exist")
