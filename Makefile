# The two set-up commands of the README: `make demo` and `make test`.
# `make test` creates .venv (python3 -m venv) with the development tools; `make demo` creates
# .venv-demo with only what the package needs at run time. Each installs the project when
# missing or stale.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_VENV := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit dist-check bench soak clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

$(DEMO_STAMP): pyproject.toml
	test -x $(DEMO_VENV)/bin/python || python3 -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e .
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/python -m target_async demo

lint: $(STAMP)
	$(VENV)/bin/ruff check target_async tests benchmarks docs

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest -q

test: lint typecheck unit

# CI, after `make test`: the built sdist and wheel, and the wheel installed alone on every
# Python version the classifiers name (.ci/check-dist).
dist-check: $(STAMP)
	PYTHON=$(PY) .ci/check-dist

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(PY) -m benchmarks

# Long: the fuzz suites with many examples, then a chaos run of mixed traffic against a faulty
# local edge (TARGET_SOAK_SECONDS, default 60), which writes docs/reliability.md.
soak: $(STAMP)
	TARGET_FUZZ_PROFILE=soak $(VENV)/bin/pytest -q tests/fuzz
	$(PY) -m benchmarks.chaos --docs docs

clean:
	rm -rf $(VENV) $(DEMO_VENV) build dist .mypy_cache .ruff_cache
