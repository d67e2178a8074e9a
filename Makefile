# The two top-level commands: `make demo` (set up + the main job) and `make test` (set up + the tests).
.PHONY: setup demo test lint bench bench-all eval-app

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/cringe-loop --run-dir runs/demo

test: setup
	bash scripts/test.sh

lint: setup
	.venv/bin/ruff check .

bench: setup
	.venv/bin/python scripts/bench_loss.py

bench-all: bench
	.venv/bin/python benchmarks/train_step.py
	.venv/bin/python benchmarks/generation.py
	.venv/bin/python benchmarks/loss_memory.py
	.venv/bin/python benchmarks/loop_stages.py --steps-only
	.venv/bin/python benchmarks/distributed_train.py --steps 30

eval-app: setup
	bash scripts/eval_app.sh

# CRINGE for fairseq (cringe_agent.fairseq), in its own venv: .venv-fairseq (see cringe_agent/fairseq/README.md).
.PHONY: setup-fairseq test-fairseq

setup-fairseq:
	bash scripts/setup_fairseq.sh

test-fairseq: setup-fairseq
	.venv-fairseq/bin/python -m pytest tests/cringe_agent/fairseq -q -p no:cacheprovider
