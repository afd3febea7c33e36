#!/usr/bin/env bash
# koe: install the offline TTS engines, voices and text sources used by the
# corpus builder (scripts/corpus/build-corpus.ts), plus pocketsphinx for a
# later comparison. Debian 12 (bookworm) or newer; run as root.
#
# Idempotent and quiet: it enables contrib/non-free only when missing, runs
# apt-get only when a package is missing, and prints one line per action.
# Usage: sudo bash scripts/setup-tts.sh [--force-update]
set -euo pipefail

PACKAGES=(
  sox
  espeak-ng
  mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1
  flite
  festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
  libttspico-utils
  fortune-mod fortunes fortunes-min
  sword-text-web libsword-utils
  wordnet-base
  pocketsphinx pocketsphinx-en-us
)
NONFREE_FILE=/etc/apt/sources.list.d/koe-nonfree.sources
FORCE_UPDATE=0
[[ "${1:-}" == "--force-update" ]] && FORCE_UPDATE=1

log() { echo "setup-tts: $*"; }
die() { echo "setup-tts: error: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (apt-get install needs it)"
command -v apt-get >/dev/null || die "apt-get not found: this script targets Debian"
export DEBIAN_FRONTEND=noninteractive

# --- find the Debian mirror and suite the machine already uses -------------
codename=""
if [[ -r /etc/os-release ]]; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi
[[ -n "$codename" ]] || die "cannot read VERSION_CODENAME from /etc/os-release"

# Prints the first URI of a deb822 stanza (or one-line 'deb' entry) whose
# suites include "$codename" exactly (so not -security / -updates).
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" && "$f" != "$NONFREE_FILE" ]] || continue
    awk -v suite="$codename" '
      function flush() { if (ok && uri != "" && types ~ /(^|[ \t])deb([ \t]|$)/) { print uri; found = 1; exit } ok = 0; uri = ""; types = "" }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:" { types = $0; sub(/^[^:]*:/, "", types) }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      END { if (!found) flush() }
    ' "$f" | head -n1
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$f" ]] || continue
    awk -v suite="$codename" '
      /^[ \t]*#/ { next }
      $1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
        if ($(i + 1) == suite) { print $i; exit }
      }' "$f"
  done
}
mirror=$(find_mirror | head -n1)
[[ -n "$mirror" ]] || die "no apt source for suite '$codename' found under /etc/apt"

# --- enable contrib and non-free on that mirror ------------------------------
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
wanted="Types: deb
URIs: ${mirror}
Suites: ${codename}
Components: contrib non-free"
[[ -r "$keyring" ]] && wanted+=$'\n'"Signed-By: ${keyring}"

sources_changed=0
if [[ ! -f "$NONFREE_FILE" ]] || [[ "$(cat "$NONFREE_FILE")" != "$wanted" ]]; then
  printf '%s\n' "$wanted" > "$NONFREE_FILE.tmp"
  mv "$NONFREE_FILE.tmp" "$NONFREE_FILE"
  sources_changed=1
  log "enabled contrib non-free for ${codename} in ${NONFREE_FILE}"
fi

# --- install what is missing ------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

aptlog=$(mktemp /tmp/koe-setup-tts.XXXXXX.log)
trap 'rm -f "$aptlog"' EXIT
run_quiet() {
  if ! "$@" >"$aptlog" 2>&1; then
    cat "$aptlog" >&2
    die "failed: $*"
  fi
}

if (( ${#missing[@]} > 0 || sources_changed || FORCE_UPDATE )); then
  log "apt-get update"
  run_quiet apt-get update -q
fi
if (( ${#missing[@]} > 0 )); then
  log "installing ${#missing[@]} package(s): ${missing[*]}"
  run_quiet apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "all ${#PACKAGES[@]} packages already installed"
fi

# --- check that every engine and source answers ------------------------------
problems=()
for c in espeak-ng flite text2wave pico2wave mbrola sox mod2imp pocketsphinx_continuous; do
  command -v "$c" >/dev/null || problems+=("command $c missing")
done
for v in us1 us2 us3 en1; do
  [[ -e /usr/share/mbrola/$v/$v ]] || problems+=("mbrola voice $v missing")
done
[[ -d /usr/share/games/fortunes ]] || problems+=("fortunes missing")
[[ -d /usr/share/wordnet ]] || problems+=("wordnet data missing")
if (( ${#problems[@]} > 0 )); then
  printf 'setup-tts: problem: %s\n' "${problems[@]}" >&2
  exit 1
fi
log "ready: espeak-ng, mbrola (us1 us2 us3 en1), flite, festival, pico, sox, text sources, pocketsphinx"
