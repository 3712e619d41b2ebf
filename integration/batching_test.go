package integration

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// TestBurstBatching: one publisher and five subscribers on one node; every video frame spans
// four RTP packets. The node sends a frame's packets to a subscriber together, in UDP GSO sends
// of several datagrams (its counters), and every subscriber's stream stays complete and in
// order.
func TestBurstBatching(t *testing.T) {
	n := startNode(t)
	checkBurstBatching(t, n, n)
}

// TestMeshBurstBatching: the same with the publisher on another edge: the subscribers' edge
// holds each relayed frame's sends too.
func TestMeshBurstBatching(t *testing.T) {
	nodes := startMesh(t, 2)
	checkBurstBatching(t, nodes[0], nodes[1])
}

// checkBurstBatching publishes a camera whose frames span four RTP packets on pubNode, joins
// five subscribers on subNode, and checks subNode's send batching over about 2 s of video.
func checkBurstBatching(t *testing.T, pubNode, subNode *node.Node) {
	t.Helper()
	const room = "batching"
	a := joinRoom(t, pubNode, room, "alice")
	layers := simulcastLayers()
	for i := range layers {
		layers[i].deltaSize = 4000 // four packets at the SDK's 1200-byte MTU
		layers[i].keySize = 4000
	}
	cam := publishCameraLayers(t, a, layers)
	var recs []*trackRecorder
	for i := range 5 {
		c := joinRoom(t, subNode, room, fmt.Sprintf("sub-%d", i))
		recs = append(recs, c.subscribed(t, cam.pub.SID()))
	}
	for i, r := range recs {
		waitPackets(t, r, 100, fmt.Sprintf("sub-%d receives alice's camera", i))
	}
	url := subNode.HTTPURL()
	held := func() float64 { return scrape(t, url, "edge_udp_held_datagrams_total", "") }
	sends := func() float64 { return scrape(t, url, "edge_udp_held_sends_total", "") }
	gso := func() float64 { return scrape(t, url, "edge_udp_gso_sends_total", "") }
	h0, s0, g0 := held(), sends(), gso()
	var before []int64
	for _, r := range recs {
		before = append(before, r.count())
	}
	for i, r := range recs { // about 2 s of video
		waitPackets(t, r, before[i]+240, fmt.Sprintf("sub-%d keeps receiving", i))
	}
	dh, ds, dg := held()-h0, sends()-s0, gso()-g0
	t.Logf("in the window: %v held datagrams in %v sends, %v of them GSO: %.2f datagrams per send",
		dh, ds, dg, dh/ds)
	require.Positive(t, dg, "no GSO sends")
	require.Greater(t, dh/ds, 2.5, "a frame's four packets should mostly leave in one send")
	require.Zero(t, scrape(t, url, "edge_udp_held_errors_total", ""), "failed held sends")
	for _, r := range recs {
		checkContinuity(t, r.snapshot())
		require.NoError(t, r.err())
	}
}
