#!/usr/bin/env bash
# Copy the best model of a training run into models/default and give it a character LM
# trained on the corpus's training text. Usage: bash scripts/ship-default-model.sh [RUN] [CORPUS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/default}
CORPUS=${2:-data/corpus}
[ -f "$RUN/model.json" ] || { echo "no model in $RUN (train first: bash scripts/train-default-model.sh)" >&2; exit 1; }
mkdir -p models/default
rm -f models/default/model.json models/default/model-*.bin
cp "$RUN/model.json" "$RUN"/model-*.bin models/default/
node bin/koe.js lm train "$CORPUS/train.jsonl" -o models/default/lm.bin
du -ch models/default/* | tail -1
node bin/koe.js info
