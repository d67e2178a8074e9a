#!/usr/bin/env bash
# Train the safety classifier: transformer/classifier, classes pos/neg, on the pos-only and neg-only streams of the
# five safety teachers (tasks/safety) in classifier mode. Usage:
#   projects/classifiers/train_safety_classifier.sh -mf MODEL_FILE [more parlai train_model flags]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
parlai train_model -o "$here/safety_classifier.opt" "$@"
