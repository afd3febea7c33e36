#!/usr/bin/env bash
# Train (or continue training) koe's default model, one command:
#   bash scripts/train-default-model.sh            # builds the corpus if missing, trains, resumes if a checkpoint exists
# Environment: CORPUS (default data/corpus), RUN (default runs/default), WORKERS (default: all cores).
# When it stops (or is stopped), `bash scripts/ship-default-model.sh` copies the best model into models/default.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-data/corpus}
RUN=${RUN:-runs/default}
[ -f dist/src/cli/main.js ] || npm run build
if [ ! -f "$CORPUS/summary.json" ]; then
  echo "building the corpus in $CORPUS (about 30-50 minutes on 2 cores)"
  node dist/scripts/corpus/build-corpus.js --out "$CORPUS"
fi
resume=()
[ -f "$RUN/checkpoint.json" ] && resume=(--resume)
exec node bin/koe.js train --train "$CORPUS/train.jsonl" --valid "$CORPUS/valid.jsonl" --out "$RUN" \
  --config scripts/recipes/default-model.json --workers "${WORKERS:-$(nproc)}" "${resume[@]}"
