#!/usr/bin/env bash
# Train (or continue training) koe's default model, one command:
#   bash scripts/train-default-model.sh            # builds the corpus if missing, trains, resumes if a checkpoint exists
# Two stages:
#   1. scripts/recipes/default-model.json for BASE_EPOCHS epochs (default 13) in $RUN-base;
#   2. fine-tuning of stage 1's model with cepstral mean normalization switched on
#      (scripts/recipes/default-model-cmn-finetune.json, `koe train --init-from`) in $RUN.
# The shipped model came from stage 2 (see the README's model card for its epochs).
# Environment: CORPUS (default data/corpus), RUN (default runs/default), WORKERS (default: all cores),
# BASE_EPOCHS, TRAIN_UTTERANCES (default 16000: what the committed run trains on; a larger corpus can be
# grown later with `node dist/scripts/corpus/build-corpus.js --out data/corpus --resume --train 40000`).
# When it stops (or is stopped), `bash scripts/ship-default-model.sh` copies the best model into models/default,
# and `bash scripts/save-checkpoint.sh` copies the resume state into checkpoints/default (to commit);
# both take the run folder as their argument: runs/default-base during stage 1, runs/default after.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-data/corpus}
RUN=${RUN:-runs/default}
BASE="$RUN-base"
[ -f dist/src/cli/main.js ] || npm run build
if [ ! -f "$CORPUS/summary.json" ]; then
  echo "building the corpus in $CORPUS (about 7-14 minutes on 2 cores for 16,000 training utterances)"
  node dist/scripts/corpus/build-corpus.js --out "$CORPUS" --train "${TRAIN_UTTERANCES:-16000}"
fi
# A checkpoint committed by an earlier session (checkpoints/default) seeds a fresh run folder if it
# was trained with this recipe's architecture and loss (else training starts anew): a stage-2
# checkpoint (features.cmn on) seeds $RUN, a stage-1 checkpoint seeds $BASE.
same_recipe() {
  node -e 'const [c, r] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
    const pick = (x) => { const m = { ...x.model, vocabSize: 0, ctcWeight: x.ctcWeight ?? 0 };
      return JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]])); };
    process.exit(pick(c.config) === pick(r) ? 0 : 1);' checkpoints/default/checkpoint.json scripts/recipes/default-model.json
}
committed_stage() {
  node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(c.config.features?.cmn ? 2 : 1);' checkpoints/default/checkpoint.json
}
if [ ! -f "$RUN/checkpoint.json" ] && [ ! -f "$BASE/checkpoint.json" ] && [ -f checkpoints/default/checkpoint.json ] && same_recipe; then
  seed=$([ "$(committed_stage)" = 2 ] && echo "$RUN" || echo "$BASE")
  mkdir -p "$seed" && cp checkpoints/default/* "$seed/"
  echo "continuing from the committed checkpoint in checkpoints/default (in $seed)"
fi
train() {
  node --single-threaded-gc bin/koe.js train --train "$CORPUS/train.jsonl" --valid "$CORPUS/valid.jsonl" \
    --workers "${WORKERS:-$(nproc)}" "$@"
}
if [ ! -f "$RUN/checkpoint.json" ]; then
  # Stage 1 (skipped once stage 2 has begun).
  resume=()
  [ -f "$BASE/checkpoint.json" ] && resume=(--resume)
  train --out "$BASE" --config scripts/recipes/default-model.json --epochs "${BASE_EPOCHS:-13}" "${resume[@]}"
  # A stage-1 checkpoint committed after its last epoch has no validated model beside it: its weights serve.
  [ -f "$BASE/model.json" ] || node dist/scripts/export-checkpoint.js "$BASE" "$BASE"
  echo "stage 1 done: fine-tuning $BASE's model with cepstral mean normalization in $RUN"
  train --out "$RUN" --config scripts/recipes/default-model-cmn-finetune.json --init-from "$BASE"
else
  train --out "$RUN" --resume
fi
