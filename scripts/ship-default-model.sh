#!/usr/bin/env bash
# Copy the best model of a training run into models/default, set its recommended decoding
# settings (scripts/recipes/default-decoding.json) and give it a character LM and a word LM
# trained on the corpus's training text. Usage: bash scripts/ship-default-model.sh [RUN] [CORPUS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/default}
CORPUS=${2:-data/corpus}
mkdir -p models/default
rm -f models/default/model.json models/default/model-*.bin
if [ "${FROM_CHECKPOINT:-0}" = 1 ] || [ ! -f "$RUN/model.json" ]; then
  # No validated model yet (the first epoch is still running): ship the latest checkpoint's weights.
  [ -f "$RUN/checkpoint.json" ] || { echo "no model or checkpoint in $RUN (train first: bash scripts/train-default-model.sh)" >&2; exit 1; }
  node dist/scripts/export-checkpoint.js "$RUN" models/default
else
  cp "$RUN/model.json" "$RUN"/model-*.bin models/default/
fi
# The decoding settings measured for this model (model.json `decoding`; flags override them).
node dist/scripts/set-model-decoding.js models/default scripts/recipes/default-decoding.json
node bin/koe.js lm train "$CORPUS/text/train.jsonl" -o models/default/lm.bin
node bin/koe.js lm train --unit word "$CORPUS/text/train.jsonl" -o models/default/word-lm.bin
du -ch models/default/* | tail -1
node bin/koe.js info
