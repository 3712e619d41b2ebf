package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
	"github.com/edgemesh/edge/topology"
)

// regionDelay is the injected one-way delay between two regions (none inside a region).
func regionDelay(a, b string) time.Duration {
	if a == b {
		return 0
	}
	pair := []string{a, b}
	slices.Sort(pair)
	switch pair[0] + "-" + pair[1] {
	case "r0-r1":
		return 20 * time.Millisecond
	case "r0-r2":
		return 40 * time.Millisecond
	default: // r1-r2
		return 30 * time.Millisecond
	}
}

// TestRegionalImpaired: 5 edges in 3 regions, regional relay mode, relay links delayed (20, 40,
// 30 ms one way between region pairs) and lossy (1 %) by a userspace impairer. A track
// published in r0 and subscribed on every edge crosses each region boundary once, and
// `edge topology --json` against any edge lists all 5 nodes, the live relay links with a round
// trip within ±20 % of the injected one, the room's participants per edge and the track's tree.
func TestRegionalImpaired(t *testing.T) {
	regions := []string{"r0", "r0", "r1", "r1", "r2"}
	conns := make([]*impairedConn, len(regions))
	// regionOf maps relay addresses to regions; complete before any node starts, read-only after.
	regionOf := map[string]string{}
	for i := range regions {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		regionOf[pc.LocalAddr().String()] = regions[i]
		self := regions[i]
		conns[i] = newImpairedConn(pc, uint64(i+1), func(dst string) (time.Duration, float64) {
			r, ok := regionOf[dst]
			if !ok {
				return 0, 0
			}
			return regionDelay(self, r), 0.01
		})
		t.Cleanup(conns[i].close)
	}
	nodes := startMeshWith(t, len(regions), func(i int, cfg *node.Config) {
		cfg.Region = regions[i]
		cfg.RelayMode = "regional"
		cfg.RelayPacketConn = conns[i]
	})
	const room = "impaired"
	a := joinRoom(t, nodes[0], room, "alice")
	mic := publishMic(t, a)
	for i := 1; i < len(nodes); i++ {
		c := joinRoom(t, nodes[i], room, fmt.Sprintf("sub-%d", i))
		waitPackets(t, c.subscribed(t, mic.pub.SID()), 30, c.identity+" receives alice over impaired links")
	}

	// Each region boundary is crossed once: r1 only through edge-2 (from edge-0), r2 only
	// through edge-4 (from edge-0), and nothing else from outside those regions.
	inbound := func(i int) []string {
		var from []string
		for _, p := range nodes[i].RelayStats().Peers {
			if p.Subscriptions > 0 {
				from = append(from, p.NodeID)
			}
		}
		slices.Sort(from)
		return from
	}
	waitFor(t, func() bool {
		return slices.Equal(inbound(2), []string{"edge-0"}) && slices.Equal(inbound(3), []string{"edge-2"}) &&
			slices.Equal(inbound(4), []string{"edge-0"}) && slices.Equal(inbound(1), []string{"edge-0"})
	}, func() string {
		return sprintf("pulls: edge-1 %v, edge-2 %v, edge-3 %v, edge-4 %v", inbound(1), inbound(2), inbound(3), inbound(4))
	})

	// edge topology --json, against every edge.
	bin := filepath.Join(t.TempDir(), "edge")
	build := exec.Command("go", "build", "-o", bin, "github.com/edgemesh/edge/cmd/edge")
	build.Env = os.Environ()
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/edge: %s", out)
	wantRTT := func(a, b string) float64 {
		return float64(2*regionDelay(regions[idOf(a)], regions[idOf(b)])) / float64(time.Millisecond)
	}
	for _, n := range nodes {
		var doc topology.Document
		waitFor(t, func() bool {
			cmd := exec.Command(bin, "topology", "--dev", "--json", "--url", n.HTTPURL())
			out, err := cmd.Output()
			if err != nil || json.Unmarshal(out, &doc) != nil {
				return false
			}
			if len(doc.Nodes) != 5 || len(doc.Tracks) != 1 || len(doc.Tracks[0].Edges) != 4 ||
				len(doc.Rooms) != 1 || doc.Rooms[0].Total() != 5 {
				return false
			}
			// Every live relay link between regions must carry a measured round trip within
			// ±20 % of the injected one. The relay reports its latest ping, which a loaded host
			// can stretch once; wait for a snapshot where every link is in range.
			for _, l := range relayLinks(doc) {
				if want := wantRTT(l.From, l.To); want > 0 && (l.RTTMillis < 0.8*want || l.RTTMillis > 1.2*want) {
					return false
				}
			}
			return len(relayLinks(doc)) >= 8 // 4 relay links, seen from both ends

		}, func() string { return sprintf("%s: topology %+v", n.ID(), doc) })
		for _, l := range relayLinks(doc) {
			want := wantRTT(l.From, l.To)
			if want == 0 {
				continue
			}
			require.InDelta(t, want, l.RTTMillis, 0.2*want, "%s: link %s-%s RTT", n.ID(), l.From, l.To)
			if n == nodes[0] {
				t.Logf("link %s→%s: RTT %.1f ms (injected %.0f ms)", l.From, l.To, l.RTTMillis, want)
			}
		}
		require.Equal(t, topology.ModeRegional, doc.Mode)
		require.Len(t, doc.Rooms, 1)
		require.Equal(t, map[string]int{"edge-0": 1, "edge-1": 1, "edge-2": 1, "edge-3": 1, "edge-4": 1},
			doc.Rooms[0].Participants)
		require.ElementsMatch(t, []topology.Edge{{From: "edge-0", To: "edge-1"}, {From: "edge-0", To: "edge-2"},
			{From: "edge-2", To: "edge-3"}, {From: "edge-0", To: "edge-4"}}, doc.Tracks[0].Edges)
	}
	t.Logf("regional impaired: routes and topology checked on all 5 edges")
}

// idOf is i for "edge-i".
func idOf(id string) int {
	var i int
	_, _ = fmt.Sscanf(id, "edge-%d", &i)
	return i
}

// relayLinks are the links that carry relay traffic (the others are measured by gossip probes,
// which the impairer does not delay).
func relayLinks(doc topology.Document) []topology.Link {
	var out []topology.Link
	for _, l := range doc.Links {
		if l.BytesPerSecFrom > 0 || l.BytesPerSecTo > 0 {
			out = append(out, l)
		}
	}
	return out
}
