#!/usr/bin/env bash
# The system packages roadtest needs, for everyone (`make install`, hence `make demo` and `make test`):
#   Pango and HarfBuzz-subset for weasyprint's PDFs, g++ and cmake to build llama-cpp-python,
#   poppler-utils (pdftoppm, pdffonts) and chromium for the tests, venv support for Python.
# Installed through apt-get, as root or with sudo when sudo needs no password; where that is impossible,
# stop before anything else with one message naming the exact command to run.
set -uo pipefail

ldconfig_bin=$(command -v ldconfig || echo /sbin/ldconfig)
have_lib() { local libs; libs=$("$ldconfig_bin" -p 2>/dev/null); [[ "$libs" == *"$1"* ]]; }   # no pipe: grep -q would SIGPIPE ldconfig
have_cmd() { command -v "$1" >/dev/null 2>&1; }

missing() {
  local need=()
  have_lib 'libpango-1.0.so' || need+=(libpango-1.0-0)
  have_lib 'libpangoft2-1.0.so' || need+=(libpangoft2-1.0-0)
  have_lib 'libharfbuzz-subset.so' || need+=(libharfbuzz-subset0)
  have_cmd g++ || need+=(g++)
  have_cmd cmake || need+=(cmake)
  have_cmd pdftoppm || need+=(poppler-utils)
  have_cmd chromium || have_cmd chromium-browser || need+=(chromium)
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
  echo "${need[@]}"
}

need=$(missing)
[ -z "$need" ] && exit 0

command_line="apt-get update && apt-get install -y $need"
stop() {
  echo "roadtest needs these system packages, which are not installed: $need" >&2
  echo "$1" >&2
  echo "run this, then run make again:" >&2
  if [ "$(id -u)" = 0 ]; then echo "  $command_line" >&2
  else echo "  sudo sh -c '$command_line'" >&2; fi
  exit 1
}

if ! have_cmd apt-get; then
  stop "(this machine has no apt-get: install the packages of the same names with its package manager)"
fi
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif have_cmd sudo && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  stop "(installing them needs root, and sudo is not available without a password here)"
fi

echo "installing system packages: $need"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp -t roadtest-apt.XXXXXX)
# shellcheck disable=SC2086
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq $need; } >"$log" 2>&1; then
  tail -n 5 "$log" >&2
  stop "(apt-get failed; its log is in $log)"
fi
still=$(missing)
[ -n "$still" ] && { need=$still; stop "(apt-get finished, but these are still missing)"; }
echo "system packages installed"
