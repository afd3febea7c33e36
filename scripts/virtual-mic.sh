#!/usr/bin/env bash
# A virtual microphone for machines without a sound card (CI, containers): a PulseAudio
# daemon with a null sink "vmic" whose monitor is the default source, so whatever is
# played into the sink (paplay --device=vmic speech.wav) is what sox/rec/arecord record.
#
#   scripts/virtual-mic.sh start    start the daemon (if needed) and the sink; idempotent
#   scripts/virtual-mic.sh stop     kill the daemon; idempotent
#   scripts/virtual-mic.sh status   exit 0 when the virtual microphone is up
#   scripts/virtual-mic.sh env      print the exports a client needs (eval "$(... env)")
#
# Needs (Debian/Ubuntu): sox libsox-fmt-pulse alsa-utils pulseaudio pulseaudio-utils libasound2-plugins
# Clients must use the same XDG_RUNTIME_DIR (default /tmp/vmic-xdg, override with
# VMIC_RUNTIME_DIR) and should set PULSE_LATENCY_MSEC=30: without it the first ~2 s of a
# recording arrive late and clips are cut short.
set -euo pipefail

runtime_dir=${VMIC_RUNTIME_DIR:-/tmp/vmic-xdg}
export XDG_RUNTIME_DIR=$runtime_dir
export PULSE_LATENCY_MSEC=${PULSE_LATENCY_MSEC:-30}

need() {
  local missing=()
  for p in pulseaudio pactl; do command -v "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "virtual-mic: ${missing[*]} not found; install: apt-get install -y --no-install-recommends sox libsox-fmt-pulse alsa-utils pulseaudio pulseaudio-utils libasound2-plugins" >&2
    exit 1
  fi
}

up() {
  pactl info >/dev/null 2>&1 && pactl list short sinks 2>/dev/null | awk '{print $2}' | grep -qx vmic
}

case "${1:-}" in
  start)
    need
    mkdir -p -m 700 "$runtime_dir"
    if ! pulseaudio --check 2>/dev/null; then
      pulseaudio -D -n --exit-idle-time=-1 \
        --load="module-native-protocol-unix auth-anonymous=1" \
        --load="module-null-sink sink_name=vmic rate=16000 channels=1" 2>/dev/null
    fi
    for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
    if ! pactl info >/dev/null 2>&1; then
      echo "virtual-mic: the PulseAudio daemon did not come up (XDG_RUNTIME_DIR=$runtime_dir)" >&2
      exit 1
    fi
    # A daemon that was already running may lack the sink.
    if ! pactl list short sinks | awk '{print $2}' | grep -qx vmic; then
      pactl load-module module-null-sink sink_name=vmic rate=16000 channels=1 >/dev/null
    fi
    pactl set-default-sink vmic
    pactl set-default-source vmic.monitor
    echo "virtual-mic: up (XDG_RUNTIME_DIR=$runtime_dir; play into it with: paplay --device=vmic FILE.wav)" >&2
    ;;
  stop)
    if command -v pulseaudio >/dev/null 2>&1 && pulseaudio --check 2>/dev/null; then
      pulseaudio --kill 2>/dev/null || true
      for _ in $(seq 50); do pulseaudio --check 2>/dev/null || break; sleep 0.1; done
    fi
    echo "virtual-mic: down" >&2
    ;;
  status)
    if command -v pactl >/dev/null 2>&1 && up; then echo "virtual-mic: up" >&2; else echo "virtual-mic: down" >&2; exit 1; fi
    ;;
  env)
    printf 'export XDG_RUNTIME_DIR=%q\nexport PULSE_LATENCY_MSEC=%q\n' "$runtime_dir" "$PULSE_LATENCY_MSEC"
    ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
