# mmiml: the README's commands: `bash tools/benchmark_all.sh` (the benchmark), `make test`
# (what CI runs: lint, the tests, the `smoke` benchmark end to end, and a check that the
# committed leaderboard and model-zoo metafiles are what the committed result files give) and
# `make demo`.
VENV ?= .venv
PY := $(VENV)/bin/python
# The main job: SynthIML `cpu` (generated into data/synthiml/cpu on first use) and the baseline.
DEMO_CFG ?= configs/plain_convnext_uper/upernet_convnext-atto_1xb8-1k_synthiml-cpu-128x128.py
DEMO_WORK ?= work_dirs/upernet_convnext-atto_1xb8-1k_synthiml-cpu-128x128

.PHONY: setup test test-fast lint demo synthiml bench bench-smoke leaderboard-check benchmark \
	leaderboard metafile-check metafiles clean
SMOKE_DIR ?= work_dirs/ci_smoke

# The venv, then SynthIML's pinned sources (downloaded once into $$MMIML_SOURCES or
# ~/.cache/mmiml/sources, about 310 MB; a second run only checks the stamps).
setup:
	bash tools/setup_env.sh
	$(PY) tools/fetch_sources.py

lint: setup
	$(VENV)/bin/ruff check mmiml tools tests benchmarks configs demo

test: setup
	$(VENV)/bin/ruff check mmiml tools tests benchmarks configs demo
	$(PY) -m pytest -q
	$(MAKE) bench-smoke leaderboard-check metafile-check

# The `smoke` profile end to end from nothing (data generated, two models trained and tested,
# a leaderboard written), in a scratch folder so the committed leaderboard is untouched.
bench-smoke: setup
	rm -rf $(SMOKE_DIR)
	PYTHON=$(PY) bash tools/benchmark_all.sh --profile smoke --results-root $(SMOKE_DIR)/results \
		--work-root $(SMOKE_DIR)/work --leaderboard $(SMOKE_DIR)/leaderboard

# The committed leaderboard must be exactly what the committed result files give.
leaderboard-check: setup
	$(PY) tools/make_leaderboard.py --check
	$(PY) tools/make_leaderboard.py --check --results-root leaderboard/synthiml-v1/results \
	    --out leaderboard/synthiml-v1

# The metafiles, model-index.yml and docs/model_zoo.md must be what the zoo's configs, the
# measured paper-scale models and the committed result files give.
metafile-check: setup
	$(PY) tools/make_metafiles.py --check

metafiles: setup
	$(PY) tools/make_metafiles.py

# The README's main job: the `cpu` profile (every model, tiny twins, 2 CPU cores).
benchmark: setup
	PYTHON=$(PY) bash tools/benchmark_all.sh --profile cpu --resume

leaderboard: setup
	$(PY) tools/make_leaderboard.py

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

synthiml: setup
	$(PY) tools/make_synthetic.py --profile cpu

demo: setup
	$(PY) tools/train.py $(DEMO_CFG) --work-dir $(DEMO_WORK)
	$(PY) tools/test.py $(DEMO_CFG) $$(cat $(DEMO_WORK)/last_checkpoint) \
		--work-dir $(DEMO_WORK) --out $(DEMO_WORK)/result.json

bench: setup
	$(PY) benchmarks/metric_throughput.py
	$(PY) benchmarks/synthiml_generation.py --profile cpu --workers 2
	$(PY) benchmarks/omni_iml_complexity.py
	$(PY) benchmarks/omni_iml_speed.py

clean:
	rm -rf work_dirs data .pytest_cache .ruff_cache
