#!/usr/bin/env bash
# Re-create tests/fixtures/tiny: eight short espeak-ng utterances, 16 kHz mono 16-bit,
# and their manifest. Needs espeak-ng and sox (scripts/setup-tts.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/../tests/fixtures/tiny"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
: > manifest.jsonl
i=0
for text in "yes" "no" "hello world" "stop now" "go left" "turn right" "open the door" "good morning"; do
  i=$((i + 1)); f=$(printf "utt%02d.wav" "$i")
  espeak-ng -v en-us -s 150 -w "$tmp/raw.wav" "$text"
  sox "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$f"
  printf '{"audio_filepath": "%s", "text": "%s", "duration": %s}\n' "$f" "$text" "$(soxi -D "$f")" >> manifest.jsonl
done
