#!/usr/bin/env bash
# Train (or continue training) koe's default model, one command:
#   bash scripts/train-default-model.sh            # builds the corpus if missing, trains, resumes if a checkpoint exists
# Environment: CORPUS (default data/corpus), RUN (default runs/default), WORKERS (default: all cores),
# TRAIN_UTTERANCES (default 16000: what the committed run trains on; a larger corpus can be grown
# later with `node dist/scripts/corpus/build-corpus.js --out data/corpus --resume --train 40000`).
# When it stops (or is stopped), `bash scripts/ship-default-model.sh` copies the best model into models/default,
# and `bash scripts/save-checkpoint.sh` copies the resume state into checkpoints/default (to commit).
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-data/corpus}
RUN=${RUN:-runs/default}
[ -f dist/src/cli/main.js ] || npm run build
if [ ! -f "$CORPUS/summary.json" ]; then
  echo "building the corpus in $CORPUS (about 12 minutes on 2 cores for 16,000 training utterances)"
  node dist/scripts/corpus/build-corpus.js --out "$CORPUS" --train "${TRAIN_UTTERANCES:-16000}"
fi
# A checkpoint committed by an earlier session (checkpoints/default) seeds a fresh run folder,
# if it was trained with this recipe's architecture and loss (else training starts anew).
same_recipe() {
  node -e 'const [c, r] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
    const pick = (x) => { const m = { ...x.model, vocabSize: 0, ctcWeight: x.ctcWeight ?? 0 };
      return JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]])); };
    process.exit(pick(c.config) === pick(r) ? 0 : 1);' checkpoints/default/checkpoint.json scripts/recipes/default-model.json
}
if [ ! -f "$RUN/checkpoint.json" ] && [ -f checkpoints/default/checkpoint.json ] && same_recipe; then
  mkdir -p "$RUN" && cp checkpoints/default/* "$RUN/"
  echo "continuing from the committed checkpoint in checkpoints/default"
fi
resume=()
[ -f "$RUN/checkpoint.json" ] && resume=(--resume)
exec node --single-threaded-gc bin/koe.js train --train "$CORPUS/train.jsonl" --valid "$CORPUS/valid.jsonl" --out "$RUN" \
  --config scripts/recipes/default-model.json --workers "${WORKERS:-$(nproc)}" "${resume[@]}"
