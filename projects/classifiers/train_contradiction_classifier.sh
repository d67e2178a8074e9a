#!/usr/bin/env bash
# Train the contradiction classifier: transformer/classifier, classes pos/neg, on DECODE's pos-only and neg-only
# streams (tasks/contradiction) in classifier mode, each input being the context and the judged utterance. Usage:
#   projects/classifiers/train_contradiction_classifier.sh -mf MODEL_FILE [more parlai train_model flags]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
parlai train_model -o "$here/contradiction_classifier.opt" "$@"
