#!/usr/bin/env bash
# Score a generator's replies with a classifier trained by train_*_classifier.sh. Usage:
#   [CLASSIFIER_INPUT=reply|context_reply] projects/classifiers/score_generations.sh \
#       GENERATOR_MODEL CLASSIFIER_MODEL TASK OUT_DIR [more flags for the generation step]
# 1. The generator replies to TASK's contexts (valid fold by default), logged to OUT_DIR/generations.jsonl.
# 2. The classifier judges each reply (with its context when CLASSIFIER_INPUT=context_reply, as the contradiction
#    classifier was trained): OUT_DIR/classifier_report.json's "accuracy" is the share of replies judged pos.
set -euo pipefail
generator="$1" classifier="$2" task="$3" out="$4"
shift 4
mkdir -p "$out"
parlai eval_model -mf "$generator" -t "$task" -dt valid --skip-generation false \
  --world-logs "$out/generations.jsonl" --report-filename "$out/generator_report.json" "$@"
parlai eval_model -mf "$classifier" -t tasks.safety.agents:WorldLogRepliesTeacher -jfdp "$out/generations.jsonl" \
  --cringe-classifier-input "${CLASSIFIER_INPUT:-reply}" -dt valid --report-filename "$out/classifier_report.json"
