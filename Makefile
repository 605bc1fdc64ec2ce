# roadtest: `make demo` installs everything and runs the demo; `make test` runs the tests.
# One install path for everyone: `make install` first installs the system packages (scripts/system-packages.sh:
# apt-get as root or with sudo, or one message naming the command to run), then the Python packages into .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
RT := $(VENV)/bin/roadtest
# llama-cpp-python is built from source here; a native build crashes on AMX-capable CPUs
# (SIGSEGV in ggml_backend_amx_mul_mat), so pin the instruction sets explicitly.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
# The unit lane: no model server, no browser, no PDF rendering, no Ray cluster, no simulation study
# (tests/conftest.py keeps the markers true: an unmarked test that starts a server or renders a PDF fails).
FAST := not model and not pdf and not browser and not ray and not slow
# The serial lane: one model server for the session, and the Ray tests (a local cluster takes every core a while).
SERIAL := (model or pdf or browser or ray) and not slow

.PHONY: install system-packages demo test test-fast test-slow bench clean-runs

system-packages:
	@bash scripts/system-packages.sh

$(VENV)/.installed: pyproject.toml | system-packages
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --quiet -e '.[local,dev,ray]'
	touch $@

install: system-packages $(VENV)/.installed

demo: install
	$(RT) check
	$(RT) run
	$(RT) report latest

# Everything but the simulation study: the type check (mypy over src/), the unit lane across the cores, then the lane with a model server,
# PDFs, a browser or a Ray cluster (one server for the session, so one process).
test: install
	$(PY) -m mypy
	$(PY) -m pytest -m "$(FAST)" -q -n auto
	$(PY) -m pytest -m "$(SERIAL)"

test-fast: install
	$(PY) -m mypy
	$(PY) -m pytest -m "$(FAST)" -q -n auto

test-slow: install
	$(PY) -m pytest -m slow

bench: install
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_archive.py
	$(PY) benchmarks/bench_startup.py
	$(PY) benchmarks/bench_throughput.py

clean-runs:
	rm -rf runs/*/
