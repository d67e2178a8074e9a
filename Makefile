# The two top-level commands: `make demo` (set up + the main job) and `make test` (set up + the tests).
.PHONY: setup demo demo-pretrained test lint bench bench-all bench-pretrained eval-app eval-app-pretrained \
	compare-persona compare-pretrained

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/cringe-loop --run-dir runs/demo

# The main job on the pretrained default (SmolLM2-135M-Instruct from its wheel; README, "The pretrained main job").
demo-pretrained: setup
	.venv/bin/cringe-loop --run-dir runs/pretrained --preset pretrained

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

eval-app-pretrained: setup
	RUN=runs/pretrained CRINGE_EVAL_DB=runs/eval/pretrained.sqlite bash scripts/eval_app.sh

bench-pretrained: setup
	.venv/bin/python benchmarks/pretrained_step.py

# The paper's comparison, tuned on the valid split, one budget, 5 seeds, in 2 processes (README, "The paper's
# comparisons"): the tiny model on the persona task; SmolLM2-135M-Instruct on the leading-question persona task.
compare-persona: setup
	projects/persona_contradiction/compare.sh runs/persona

compare-pretrained: setup
	scripts/compare_parallel.sh 2 --run-dir runs/compare_pretrained --preset pretrained_compare --paper contradiction \
		--methods mle_pos,unlikelihood,director,reranker,cringe

# CRINGE for fairseq (cringe_agent.fairseq), in its own venv: .venv-fairseq (see cringe_agent/fairseq/README.md).
.PHONY: setup-fairseq test-fairseq

setup-fairseq:
	bash scripts/setup_fairseq.sh

test-fairseq: setup-fairseq
	.venv-fairseq/bin/python -m pytest tests/cringe_agent/fairseq -q -p no:cacheprovider
