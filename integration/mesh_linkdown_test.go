package integration

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// linkDownBound bounds how long a subscriber behind a dead relay link waits for media: one
// failed QUIC handshake (5 s) plus a retry along the new route.
const linkDownBound = 12 * time.Second

// TestRegionalLinkDown: regional mode, publisher on edge-0 (r0); edge-1 is r1's hub and edge-2
// r1's other edge. Every edge is alive in gossip, but the relay link between edge-2 and its hub
// is dead (a userspace impairer drops every datagram between their relay sockets, both ways).
// edge-2 routes around the link, pulling from r0's feeder, and its subscriber gets media within
// linkDownBound; edge-1's own subscriber still gets the track through the hub route.
func TestRegionalLinkDown(t *testing.T) {
	regions := []string{"r0", "r1", "r1"}
	conns := cutRelays(t, len(regions), [2]int{1, 2})
	nodes := startMeshWith(t, len(regions), func(i int, cfg *node.Config) {
		cfg.Region = regions[i]
		cfg.RelayMode = "regional"
		cfg.RelayPacketConn = conns[i]
	})
	const room = "linkdown"
	alice := joinRoom(t, nodes[0], room, "alice")
	mic := publishMic(t, alice)

	hubSub := joinRoom(t, nodes[1], room, "sub-1")
	waitPackets(t, hubSub.subscribed(t, mic.pub.SID()), 30, "sub-1 on r1's hub receives alice")
	start := time.Now()
	sub := joinRoom(t, nodes[2], room, "sub-2")
	waitPackets(t, sub.subscribed(t, mic.pub.SID()), 30, "sub-2 behind the dead link receives alice")
	took := time.Since(start)
	t.Logf("regional: edge-2's link to its hub is dead; sub-2 received media %v after joining", took.Round(10*time.Millisecond))
	require.Less(t, took, linkDownBound)
	st, ok := nodes[2].RelayPeerStats("edge-0")
	require.True(t, ok && st.Subscriptions > 0, "edge-2 does not pull from edge-0 around the dead link")
	require.Equal(t, 1.0, scrape(t, nodes[2].HTTPURL(), "edge_relay_link_down", `peer="edge-1"`),
		"the dead link is visible in /metrics")
	st, ok = nodes[2].RelayPeerStats("edge-1")
	require.False(t, ok && st.Subscriptions > 0, "edge-2 pulls from edge-1 although every datagram between them is dropped: %+v", st)
}

// cutRelays returns relay sockets for n edges (wrapped by a userspace impairer) that drop every
// datagram between the two edges of each pair in cut, both ways. They close when the test ends.
func cutRelays(t *testing.T, n int, cut ...[2]int) []*impairedConn {
	t.Helper()
	pcs := make([]net.PacketConn, n)
	addrs := make([]string, n) // complete before any socket is used; read-only after
	for i := range n {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		pcs[i], addrs[i] = pc, pc.LocalAddr().String()
	}
	conns := make([]*impairedConn, n)
	for i := range n {
		self := i
		conns[i] = newImpairedConn(pcs[i], uint64(i+1), func(dst string) (time.Duration, float64) {
			for _, c := range cut {
				if self == c[0] && dst == addrs[c[1]] || self == c[1] && dst == addrs[c[0]] {
					return 0, 1
				}
			}
			return 0, 0
		})
		t.Cleanup(conns[i].close)
	}
	return conns
}
