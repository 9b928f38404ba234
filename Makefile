# The two commands of the README. Each sets up .venv (once) and then runs its job.
#   make repro   # install, `dvc pull` when a default remote is set, then `dvc repro` on params.yaml
#   make test    # install, then the fast test suite (pytest -m "not slow")
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# torch/torchvision: the builds the lab machines hold on disk; other machines get them from PyPI.
TORCH := torch==2.14.1 torchvision==0.29.1

.PHONY: setup repro seeds seeds-dry test test-slow bench
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q $(TORCH) -e '.[test]'
	@# vega, vega-lite, vega-embed from npm into build/plots: `dvc plots show/diff` pages that render offline
	@if command -v npm >/dev/null; then \
	  $(BIN)/genlab plots_template || echo "make setup: offline plots template not built (is the npm registry reachable?)"; \
	else echo "make setup: no npm, so dvc plots pages load vega from a CDN (install npm, then: genlab plots_template)"; fi
	touch $@

# With a default DVC remote (docs/sharing.md), fetch what it holds first: `dvc repro` then reruns only
# what the remote lacks (nothing, after a `dvc push` of the same commit). An unreachable remote is a warning.
repro: setup
	@if dvc remote default >/dev/null 2>&1; then \
	  echo "dvc pull (default remote: $$(dvc remote default))"; \
	  dvc pull --allow-missing || echo "make repro: dvc pull failed (is the remote reachable?); dvc repro computes what is missing"; \
	fi
	dvc repro

# Every MNIST claim at 3 seeds (docs/design-and-claims.md: Claims over seeds): `genlab seeds` queues, as DVC experiments, exactly what
# metrics/runs.json and this run's evaluations lack for the current code and setup (seeds 1, 2 of params.yaml; seeds
# 0-2 of the width sweep and of the Progressive GAN with each technique off), evaluating only the missing models:
# after a change to one family, that family's seeds alone; on an unchanged tree, nothing. The queue runs one at a
# time (the machine's cores go to each); then genlab collect adds them to metrics/runs.json and dvc repro pools them
# in the claims. Commit metrics/runs.json, metrics/claims.json and the report afterwards; the next session adds more.
# `make seeds-dry` lists what would be queued; MODELS="aae" narrows both to those models.
SEEDS := 0 1 2
MODELS :=
seeds: setup
	dvc repro
	genlab seeds $(addprefix --seed ,$(SEEDS)) $(addprefix --model ,$(MODELS))
	@# the worker can die with tasks left (seen: celery's file broker read a half-written message, JSONDecodeError):
	@# start a new one when none is active
	while dvc queue status | grep -qE 'Queued|Running'; do \
	  dvc queue status | grep -q 'Worker status: 0 active' && dvc queue start -j 1 || true; sleep 30; done
	dvc queue status
	@# experiments are based on the commit they were queued at: read a few commits back in case HEAD moved since
	genlab collect --commits 5
	dvc repro

seeds-dry: setup
	genlab seeds --dry-run $(addprefix --seed ,$(SEEDS)) $(addprefix --model ,$(MODELS))

test: setup
	python -m pytest -q

test-slow: setup
	python -m pytest -q -m slow

bench: setup            # after `make repro`: speed table -> metrics/bench.json; the pythae peer needs .[bench]
	genlab bench
	pip install --disable-pip-version-check -q -e '.[bench]'
	python benchmarks/peer_pythae.py
