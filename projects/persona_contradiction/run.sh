#!/usr/bin/env bash
# Persona contradiction, end to end on a CPU: train the learned labeller, then run the loop judged by the exact
# checker. Usage (from the repository root):
#   projects/persona_contradiction/run.sh OUT_DIR [more cringe-loop flags]
# OUT_DIR/classifier/model is the labeller (parlai+context:PATH); OUT_DIR/loop is the run directory.
set -euo pipefail
out="$1"
shift
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
if [ ! -f "$out/classifier/model.opt" ]; then
  .venv/bin/python -m tasks.persona.classifier --model-file "$out/classifier/model" --steps "${CLASSIFIER_STEPS:-400}"
fi
.venv/bin/cringe-loop --run-dir "$out/loop" --task tasks.persona.agents \
  --classifier "parlai+context:$out/classifier/model" --judge tasks.persona.checker:judge \
  --baseline-steps 200 --round-steps 60 --prompts 400 --eval-provocative 200 --eval-random 200 --ppl-examples 300 \
  --model-opt batchsize=32 --model-opt text_truncate=128 --model-opt truncate=128 "$@"
