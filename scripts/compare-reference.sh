#!/usr/bin/env bash
# Measures edge and the reference livekit-server with the same load, alternating the two so
# both see the same machine conditions, and prints each pair's ratio:
#
#   scripts/compare-reference.sh [SUBS] [ROUNDS] [DURATION]     (defaults 50 3 30s)
#
# Binaries: $EDGE_BIN (default: built from this checkout), $LIVEKIT_BIN (default: built by
# scripts/build-reference.sh). Everything runs on 127.0.0.1.
set -euo pipefail

subs=${1:-50}
rounds=${2:-3}
duration=${3:-30s}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
go build -o "$work/edge-load" ./cmd/edge-load
edge=${EDGE_BIN:-}
if [ -z "$edge" ]; then
	edge="$work/edge"
	go build -o "$edge" ./cmd/edge
fi
lk=${LIVEKIT_BIN:-}
if [ -z "$lk" ]; then
	lk="$work/livekit-server"
	scripts/build-reference.sh "$lk" >&2
fi

# one run; prints "cpu_all cpu_share rss_per_sub fwd_pkts_per_s loss_audio/video hd_subs
# video_tracks" from the report
measure() {
	local out="$work/run.txt"
	"$work/edge-load" --subs "$subs" --duration "$duration" --join-parallel 8 --node-log-level warn "$@" >"$out" 2>&1 ||
		{ tail -40 "$out" >&2; return 1; }
	local md hd vt
	md=$(grep '^markdown:' "$out")
	hd=$(sed -n 's/.*; \([0-9]*\)\/[0-9]* last saw a 1280x720 keyframe.*/\1/p' "$out")
	vt=$(sed -n 's/^subscribers: [0-9]* audio + \([0-9]*\) video tracks flowing.*/\1/p' "$out")
	echo "$md" | awk -F'|' -v hd="$hd" -v vt="$vt" '{gsub(/ /,""); print $5, $6, $7, $8, $9, hd, vt}'
}

printf '%-6s %-22s %-22s %-22s\n' round "edge all/share/RSS" "livekit all/share/RSS" "edge/livekit CPU all, share; RSS"
for r in $(seq 1 "$rounds"); do
	read -r ea es er ef el eh ev < <(measure --edge-bin "$edge")
	read -r la ls lr lf ll lh lv < <(measure --livekit-bin "$lk")
	awk -v r="$r" -v ea="$ea" -v es="$es" -v er="$er" -v la="$la" -v ls="$ls" -v lr="$lr" \
		-v ef="$ef" -v lf="$lf" -v el="$el" -v ll="$ll" -v eh="$eh" -v lh="$lh" -v ev="$ev" -v lv="$lv" 'BEGIN {
		printf "%-6d %5.2f %5.2f %5.3f       %5.2f %5.2f %5.3f       %.2fx %.2fx; %.2fx   (fwd pkts/s: edge %d, livekit %d; loss a/v: edge %s, livekit %s; video tracks flowing: edge %d, livekit %d; at 720p: edge %d, livekit %d)\n",
			r, ea, es, er, la, ls, lr, ea/la, es/ls, er/lr, ef, lf, el, ll, ev, lv, eh, lh }'
done
echo "CPU in ms per subscribed 720p track-second (all node CPU on video / video's packet share), RSS in MiB per subscriber"
