#!/usr/bin/env bash
# Keep a training run's resume state in the repository (checkpoints/default), so that a later
# session on a fresh machine continues it: bash scripts/save-checkpoint.sh [RUN]
# The weights file is split into 20 MB parts (a tfjs weights manifest may list several files).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/default}
[ -f "$RUN/checkpoint.json" ] || { echo "no checkpoint in $RUN" >&2; exit 1; }
OUT=checkpoints/default
mkdir -p "$OUT"
rm -f "$OUT"/checkpoint*
bin=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).weightsManifest[0].paths.join(" "))' "$RUN/checkpoint.json")
cat $(for f in $bin; do echo "$RUN/$f"; done) | split -b 20M -d -a 2 - "$OUT/checkpoint-part"
node -e '
  const fs = require("fs");
  const [src, dir] = process.argv.slice(1);
  const doc = JSON.parse(fs.readFileSync(src));
  doc.weightsManifest[0].paths = fs.readdirSync(dir).filter((f) => f.startsWith("checkpoint-part")).sort();
  fs.writeFileSync(dir + "/checkpoint.json", JSON.stringify(doc, null, 1) + "\n");
' "$RUN/checkpoint.json" "$OUT"
cp "$RUN/train-log.jsonl" "$OUT/"
du -ch "$OUT"/* | tail -1
