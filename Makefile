# roadtest: `make demo` installs everything and runs the demo; `make test` runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
RT := $(VENV)/bin/roadtest
# llama-cpp-python is built from source here; a native build crashes on AMX-capable CPUs
# (SIGSEGV in ggml_backend_amx_mul_mat), so pin the instruction sets explicitly.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: install demo test bench clean-runs

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --quiet -e '.[local,dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(RT) check
	$(RT) run
	$(RT) report latest

test: install
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_archive.py

clean-runs:
	rm -rf runs/*/
