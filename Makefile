# mmiml: the two commands of the README are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# The main job: SynthIML `cpu` (generated into data/synthiml/cpu on first use) and the baseline.
DEMO_CFG ?= configs/baseline/convnext-atto_upernet_synthiml-cpu.py
DEMO_WORK ?= work_dirs/convnext-atto_upernet_synthiml-cpu

.PHONY: setup test test-fast lint demo synthiml bench clean

setup:
	bash tools/setup_env.sh

lint: setup
	$(VENV)/bin/ruff check mmiml tools tests benchmarks configs

test: setup
	$(VENV)/bin/ruff check mmiml tools tests benchmarks configs
	$(PY) -m pytest -q

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
