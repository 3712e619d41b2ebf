#!/usr/bin/env bash
# Builds the reference SFU, livekit-server, for same-machine comparisons with edge-load:
#
#   scripts/build-reference.sh /tmp/livekit-server
#   go run ./cmd/edge-load --subs 50 --livekit-bin /tmp/livekit-server
#
# The source comes from the Go module proxy (github.com/livekit/livekit-server@$VERSION). Its
# go.mod replaces pion/webrtc, pion/ice and pion/dtls with LiveKit's "warp" forks, which the
# proxy does not serve; the build drops those replaces (upstream pion of the same minor
# versions is used) and the two calls into the forks' extra API, which only run with the
# experimental rtc.enable_warp setting (off by default, and off in edge-load's config). Nothing
# else is changed.
set -euo pipefail

out=${1:?usage: $0 OUTPUT_BINARY}
VERSION=${VERSION:-v1.13.11}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dir=$(go mod download -json "github.com/livekit/livekit-server@$VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "build-reference: module download failed" >&2; exit 1; }
cp -r "$dir/." "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"

sed -i '/^replace github.com\/pion\//d' go.mod
# the forks' warp-only setters (SCTP-in-DTLS); without the forks they do not exist
sed -i '/se\.EnableSped(true)/d; /se\.EnableSctpSnap(true)/d' pkg/rtc/transport.go
if grep -q 'EnableSped\|EnableSctpSnap' pkg/rtc/transport.go; then
	echo "build-reference: warp calls still present" >&2
	exit 1
fi

go build -mod=mod -o "$out" ./cmd/server
echo "built livekit-server $VERSION (upstream pion) at $out"
