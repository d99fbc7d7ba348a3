# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv (python3 -m venv) and installs the project when missing or stale.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit bench soak clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m target_async demo

lint: $(STAMP)
	$(VENV)/bin/ruff check target_async tests benchmarks docs

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(PY) -m benchmarks

# Long: the fuzz suites with many examples, then a chaos run of mixed traffic against a faulty
# local edge (TARGET_SOAK_SECONDS, default 60), which writes docs/reliability.md.
soak: $(STAMP)
	TARGET_FUZZ_PROFILE=soak $(VENV)/bin/pytest -q tests/fuzz
	$(PY) -m benchmarks.chaos --docs docs

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
