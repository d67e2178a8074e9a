#!/usr/bin/env bash
# The paper's comparison on the persona contradiction task: every method and CRINGE's ablations over 3 seeds, the
# learned labeller labelling, the exact checker judging. Usage (from the repository root):
#   projects/persona_contradiction/compare.sh OUT_DIR [more cringe-compare flags]
# OUT_DIR/classifier/model is the labeller (trained first when missing); OUT_DIR/compare the comparison.
set -euo pipefail
out="$1"
shift
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
if [ ! -f "$out/classifier/model.opt" ]; then
  .venv/bin/python -m tasks.persona.classifier --model-file "$out/classifier/model" --steps "${CLASSIFIER_STEPS:-400}"
fi
.venv/bin/cringe-compare --run-dir "$out/compare" --preset persona --paper contradiction \
  --classifier "parlai+context:$out/classifier/model" "$@"
