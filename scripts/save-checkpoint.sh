#!/usr/bin/env bash
# Keep a training run's resume state in the repository (checkpoints/default), so that a later
# session on a fresh machine continues it: bash scripts/save-checkpoint.sh [RUN]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/default}
[ -f "$RUN/checkpoint.json" ] || { echo "no checkpoint in $RUN" >&2; exit 1; }
mkdir -p checkpoints/default
rm -f checkpoints/default/checkpoint*.json checkpoints/default/checkpoint-*.bin
cp "$RUN/checkpoint.json" "$RUN"/checkpoint-*.bin "$RUN/train-log.jsonl" checkpoints/default/
du -ch checkpoints/default/* | tail -1
