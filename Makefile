# The two commands of the README. Each sets up .venv (once) and then runs its job.
#   make repro   # install, `dvc pull` when a default remote is set, then `dvc repro` on params.yaml
#   make test    # install, then the fast test suite (pytest -m "not slow")
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# torch/torchvision: the builds the lab machines hold on disk; other machines get them from PyPI.
TORCH := torch==2.14.1 torchvision==0.29.1

.PHONY: setup repro test test-slow bench
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q $(TORCH) -e '.[test]'
	@# vega, vega-lite, vega-embed from npm into build/plots: `dvc plots show/diff` pages that render offline
	@if command -v npm >/dev/null; then \
	  $(BIN)/genlab plots_template || echo "make setup: offline plots template not built (is the npm registry reachable?)"; \
	else echo "make setup: no npm, so dvc plots pages load vega from a CDN (install npm, then: genlab plots_template)"; fi
	touch $@

# With a default DVC remote (README: Sharing results), fetch what it holds first: `dvc repro` then reruns only
# what the remote lacks (nothing, after a `dvc push` of the same commit). An unreachable remote is a warning.
repro: setup
	@if dvc remote default >/dev/null 2>&1; then \
	  echo "dvc pull (default remote: $$(dvc remote default))"; \
	  dvc pull --allow-missing || echo "make repro: dvc pull failed (is the remote reachable?); dvc repro computes what is missing"; \
	fi
	dvc repro

test: setup
	python -m pytest -q

test-slow: setup
	python -m pytest -q -m slow

bench: setup            # after `make repro`: speed table -> metrics/bench.json; the pythae peer needs .[bench]
	genlab bench
	pip install --disable-pip-version-check -q -e '.[bench]'
	python benchmarks/peer_pythae.py
