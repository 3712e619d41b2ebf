package integration

import (
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// lossyConn drops a fixed share of the datagrams it receives, at random (seeded).
type lossyConn struct {
	net.PacketConn
	mu      sync.Mutex // guards rng and the counters
	rng     *rand.Rand
	share   float64
	read    int
	dropped int
}

func (c *lossyConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		c.mu.Lock()
		c.read++
		drop := c.rng.Float64() < c.share
		if drop {
			c.dropped++
		}
		c.mu.Unlock()
		if !drop {
			return n, addr, nil
		}
	}
}

func (c *lossyConn) counts() (read, dropped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read, c.dropped
}

// TestMeshRelayLoss: with 5 % of the datagrams arriving on edge 1's relay socket dropped, the
// subscriber on edge 1 still gets the publisher's video with < 0.5 % unrecovered loss (NACKs
// across the relay, answered from edge 0's cache).
func TestMeshRelayLoss(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	lossy := &lossyConn{PacketConn: pc, rng: rand.New(rand.NewPCG(7, 11)), share: 0.05}
	nodes := startMeshWith(t, 2, func(i int, cfg *node.Config) {
		if i == 1 {
			cfg.RelayPacketConn = lossy
		}
	})
	a := joinRoom(t, nodes[0], "lossy", "alice")
	b := joinRoom(t, nodes[1], "lossy", "bob")
	cam := publishCamera(t, a)
	rec := b.subscribed(t, cam.pub.SID())
	waitPackets(t, rec, 100, "bob receives alice's camera across a lossy relay")
	start := rec.size()
	time.Sleep(10 * time.Second)
	end := rec.size()
	time.Sleep(time.Second) // retransmissions of the window's last packets may still be on their way
	read, dropped := lossy.counts()
	require.Greater(t, dropped, 20, "the impairer dropped too little to test anything (%d of %d)", dropped, read)

	// Unrecovered loss: packets of the window (by sequence number) that never arrived;
	// retransmissions fill gaps, duplicates count once.
	missing, span := seqWindowLoss(rec.snapshot(), start, end)
	require.Greater(t, span, 200, "too few packets in the window")
	ratio := float64(missing) / float64(span)
	t.Logf("relay loss: impairer dropped %d of %d datagrams (%.1f%%); bob got %d of %d packets; unrecovered %.3f%%",
		dropped, read, 100*float64(dropped)/float64(read), span-missing, span, 100*ratio)
	require.Less(t, ratio, 0.005, "unrecovered loss at the subscriber")
}
