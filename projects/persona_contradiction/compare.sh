#!/usr/bin/env bash
# The paper's comparison on the persona contradiction task: every method at one fine-tuning budget, tuned on the
# valid split, 5 seeds, the learned labeller labelling, the exact checker judging. Usage (from the repository root):
#   projects/persona_contradiction/compare.sh OUT_DIR [more cringe-compare flags]
# OUT_DIR/classifier/model is the labeller (trained first when missing); OUT_DIR/compare the comparison, run in
# PROCS processes of one thread each (default 2).
set -euo pipefail
out="$1"
shift
if [ ! -f "$out/classifier/model.opt" ]; then
  OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" .venv/bin/python -m tasks.persona.classifier \
    --model-file "$out/classifier/model" --steps "${CLASSIFIER_STEPS:-400}"
fi
scripts/compare_parallel.sh "${PROCS:-2}" --run-dir "$out/compare" --preset persona --paper contradiction \
  --classifier "parlai+context:$out/classifier/model" "$@"
