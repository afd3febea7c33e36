#!/usr/bin/env bash
# Train (or continue training) koe's default model, one command:
#   bash scripts/train-default-model.sh            # builds the corpus if missing, trains, resumes if a checkpoint exists
# Six stages:
#   1. scripts/recipes/default-model.json for BASE_EPOCHS epochs (default 13) in $RUN-base;
#   2. fine-tuning of stage 1's model with cepstral mean normalization switched on
#      (scripts/recipes/default-model-cmn-finetune.json, `koe train --init-from`) for CMN_EPOCHS
#      epochs (default 2) in $RUN;
#   3. annealing: stage 2's best model fine-tuned again with a fast-decaying learning rate
#      (scripts/recipes/default-model-cmn-anneal.json, 3 epochs) in $RUN-anneal, keeping each
#      epoch's model in $RUN-anneal/epochs/ for `koe average`;
#   4. more data: the corpus grown to MORE_UTTERANCES training utterances (default 40000; the first
#      TRAIN_UTTERANCES are the same files), stage 3's model fine-tuned for 1000 steps (about 16,000
#      utterances drawn from all of them) with a learning rate halving every 300 steps
#      (scripts/recipes/default-model-more-data.json) in $RUN-more;
#   5. a full epoch: stage 4's model trained on all MORE_UTTERANCES for one epoch (about 2,550 steps)
#      with a learning rate halving every 800 steps (scripts/recipes/default-model-more-data-epoch.json)
#      in $RUN-epoch, validated at the epoch's end;
#   6. a second epoch: stage 5's model trained again on all of them with a fresh Adam and a restarted,
#      lower learning rate (1e-4 halving every 800 steps; scripts/recipes/default-model-more-data-epoch2.json)
#      in $RUN-epoch2.
# See the README's model card for which of them the shipped model is.
# Environment: CORPUS (default data/corpus), RUN (default runs/default), WORKERS (default: all cores),
# BASE_EPOCHS, TRAIN_UTTERANCES (default 16000: what stages 1-3 train on), MORE_UTTERANCES (default 40000:
# what the corpus is grown to for stage 4, with `build-corpus.js --resume --train`).
# When it stops (or is stopped), `bash scripts/ship-default-model.sh` copies the best model into models/default,
# and `bash scripts/save-checkpoint.sh` copies the resume state into checkpoints/default (to commit);
# both take the run folder as their argument: runs/default-base during stage 1, runs/default during
# stage 2, runs/default-anneal during stage 3, runs/default-more during stage 4, runs/default-epoch during stage 5, runs/default-epoch2 during stage 6.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-data/corpus}
RUN=${RUN:-runs/default}
MORE_UTTERANCES=${MORE_UTTERANCES:-40000}
# The stages in order: run folder, recipe, epochs. Each fine-tunes the model of the one before.
DIRS=("$RUN-base" "$RUN" "$RUN-anneal" "$RUN-more" "$RUN-epoch" "$RUN-epoch2")
RECIPES=(scripts/recipes/default-model.json scripts/recipes/default-model-cmn-finetune.json
  scripts/recipes/default-model-cmn-anneal.json scripts/recipes/default-model-more-data.json
  scripts/recipes/default-model-more-data-epoch.json scripts/recipes/default-model-more-data-epoch2.json)
EPOCHS=("${BASE_EPOCHS:-13}" "${CMN_EPOCHS:-2}" 3 1 1 1)
FIRST_MORE_DATA_STAGE=3 # index of stage 4, the first to train on MORE_UTTERANCES
[ -f dist/src/cli/main.js ] || npm run build
if [ ! -f "$CORPUS/summary.json" ]; then
  echo "building the corpus in $CORPUS (about 7-14 minutes on 2 cores for 16,000 training utterances)"
  node dist/scripts/corpus/build-corpus.js --out "$CORPUS" --train "${TRAIN_UTTERANCES:-16000}"
fi
# A checkpoint committed by an earlier session (checkpoints/default) seeds the run folder of the
# stage it was trained in (the stage whose recipe has its architecture, loss and learning-rate
# schedule); one that matches no stage is left alone and training starts anew.
committed_stage() {
  node -e 'const fs = require("fs");
    const read = (f) => JSON.parse(fs.readFileSync(f, "utf8"));
    const canon = (x) => JSON.stringify(x, Object.keys(x).sort());
    const c = read(process.argv[1]).config;
    const base = read(process.argv[2]);
    const key = (r, model) => canon({ ...model, vocabSize: 0, ctcWeight: r.ctcWeight ?? 0 }) + canon(r.learningRate) + String(r.features?.cmn === true);
    const mine = key(c, c.model);
    // Stages 2-6 take their architecture from stage 1.
    const stage = process.argv.slice(2).findIndex((f) => key(read(f), base.model) === mine);
    console.log(stage + 1);' checkpoints/default/checkpoint.json "${RECIPES[@]}"
}
# True when none of the given run folders holds a checkpoint (none of those stages has begun).
none_begun() {
  for dir in "$@"; do [ ! -f "$dir/checkpoint.json" ] || return 1; done
}
if none_begun "${DIRS[@]}" && [ -f checkpoints/default/checkpoint.json ]; then
  stage=$(committed_stage)
  if [ "$stage" -gt 0 ]; then
    seed=${DIRS[stage - 1]}
    mkdir -p "$seed" && cp checkpoints/default/* "$seed/"
    echo "continuing from the committed checkpoint in checkpoints/default (stage $stage, in $seed)"
  fi
fi
# A stage committed after its last epoch has no validated model beside its checkpoint: its weights serve.
export_if_missing() {
  [ -f "$1/model.json" ] || node dist/scripts/export-checkpoint.js "$1" "$1"
}
train() {
  node --single-threaded-gc bin/koe.js train --train "$CORPUS/train.jsonl" --valid "$CORPUS/valid.jsonl" \
    --workers "${WORKERS:-$(nproc)}" "$@"
}
# One stage: continue its run folder's checkpoint if there is one (a finished one returns at once:
# `koe train --resume` stops before the data when no epoch or step is left), else start it from its
# recipe. Usage: stage OUT RECIPE EPOCHS [MODEL_TO_FINE_TUNE]
stage() {
  if [ -f "$1/checkpoint.json" ]; then
    train --out "$1" --resume --epochs "$3"
  else
    # The model it starts from was trained on the same corpus: its feature caches serve if their
    # key (features, manifest) matches, else the trainer recomputes them and writes new files in
    # place of the links (it renames a temporary file, so the originals stay as they are).
    mkdir -p "$1"
    for f in ${4:+"$4"/features-train*.bin}; do [ -f "$f" ] && ln -f "$f" "$1/"; done
    train --out "$1" --config "$2" --epochs "$3" ${4:+--init-from "$4"}
  fi
}
# Run each stage that no later stage has overtaken (a finished one returns at once).
for i in "${!DIRS[@]}"; do
  if [ "$i" -eq "$FIRST_MORE_DATA_STAGE" ] && [ "$(wc -l < "$CORPUS/train.jsonl")" -lt "$MORE_UTTERANCES" ]; then
    node dist/scripts/corpus/build-corpus.js --out "$CORPUS" --resume --train "$MORE_UTTERANCES"
  fi
  none_begun "${DIRS[@]:i+1}" || continue
  previous=""
  [ "$i" -eq 0 ] || previous=${DIRS[i - 1]}
  stage "${DIRS[i]}" "${RECIPES[i]}" "${EPOCHS[i]}" "$previous"
  # Stage 4 stops at its recipe's maxSteps, before the epoch's end and its validation: a stage
  # without a validated model ships its last weights.
  export_if_missing "${DIRS[i]}"
  echo "stage $((i + 1)) done (${RECIPES[i]}, in ${DIRS[i]})"
done
echo "ship it with bash scripts/ship-default-model.sh ${DIRS[-1]}"
