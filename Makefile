# mmiml: the two commands of the README are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DATA ?= data/demo_splices
DEMO_CFG ?= configs/baseline/convnext-atto_upernet_demo-cpu.py
DEMO_WORK ?= work_dirs/convnext-atto_upernet_demo-cpu

.PHONY: setup test test-fast lint demo demo-data bench clean

setup:
	bash tools/setup_env.sh

lint: setup
	$(VENV)/bin/ruff check mmiml tools tests benchmarks configs

test: setup
	$(VENV)/bin/ruff check mmiml tools tests benchmarks configs
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

demo-data: setup
	$(PY) tools/make_demo_data.py $(DEMO_DATA)

demo: demo-data
	$(PY) tools/train.py $(DEMO_CFG) --work-dir $(DEMO_WORK)
	$(PY) tools/test.py $(DEMO_CFG) $$(cat $(DEMO_WORK)/last_checkpoint) \
		--work-dir $(DEMO_WORK) --out $(DEMO_WORK)/result.json

bench: setup
	$(PY) benchmarks/metric_throughput.py

clean:
	rm -rf work_dirs data .pytest_cache .ruff_cache
