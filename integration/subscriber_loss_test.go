package integration

import (
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// videoDropConn is a node's ICE/UDP socket that drops every nth datagram it writes larger than
// minSize: with one publisher and one subscriber in the room, that is the subscriber's video
// (and retransmissions of it), lost on the way out after encryption, as on a real network.
type videoDropConn struct {
	net.PacketConn
	every, minSize int

	mu             sync.Mutex // guards the counters
	large, dropped int
}

func (c *videoDropConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if len(p) >= c.minSize {
		c.mu.Lock()
		c.large++
		drop := c.large%c.every == 0
		if drop {
			c.dropped++
		}
		c.mu.Unlock()
		if drop {
			return len(p), nil
		}
	}
	return c.PacketConn.WriteTo(p, addr)
}

func (c *videoDropConn) counts() (large, dropped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.large, c.dropped
}

// TestSubscriberLegLoss: 5 % of the video the node sends a subscriber is lost on the way
// (every 20th datagram); the subscriber NACKs, the node reads those NACKs itself
// (egress.Inbound), answers them from the receiver's cache over its direct SRTP path, and the
// subscriber ends up missing almost nothing. The stream allocator is off: it would rightly
// answer 5 % loss by lowering the layer.
func TestSubscriberLegLoss(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	lossy := &videoDropConn{PacketConn: pc, every: 20, minSize: 300}
	n := startNodeWith(t, func(c *node.Config) {
		c.Allocation.Disabled = true
		c.RTCPacketConn = lossy
	})
	const room = "sub-loss"
	a := joinRoom(t, n, room, "alice")
	cam := publishCamera(t, a)
	b := joinRoom(t, n, room, "bob")
	r := b.subscribed(t, cam.pub.SID())
	waitPackets(t, r, 400, "bob receives alice's camera")

	recs := r.snapshot()
	seen := make(map[int]bool, len(recs))
	first := recs[0].seq
	maxD := 0
	for _, rec := range recs {
		d := int(uint16(rec.seq - first))
		seen[d] = true
		maxD = max(maxD, d)
	}
	window := maxD - 100 // the last packets' repairs may still be on their way
	missing := 0
	for d := 0; d < window; d++ {
		if !seen[d] {
			missing++
		}
	}
	large, dropped := lossy.counts()
	url := n.HTTPURL()
	t.Logf("dropped %d of %d large datagrams; bob misses %d of %d packets after repair; node: %v NACKed, %v retransmitted",
		dropped, large, missing, window, scrape(t, url, "edge_nacks_total", ""), scrape(t, url, "edge_retransmits_total", ""))
	require.Greater(t, dropped, 12, "the test dropped too little")
	require.Positive(t, scrape(t, url, "edge_retransmits_total", ""), "nothing retransmitted")
	require.Positive(t, scrape(t, url, "edge_egress_direct_packets_total", ""), "no direct sends")
	require.Positive(t, scrape(t, url, "edge_egress_rtcp_in_total", ""), "the node read no RTCP itself")
	require.Less(t, float64(missing), 0.005*float64(window), "unrepaired loss")
	require.NoError(t, r.err())
}
