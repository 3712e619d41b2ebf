package integration

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// TestDirectEgress: by default the node encrypts and sends subscribers' media itself (package
// egress) and reads their RTCP past pion: a v0 subscriber (subscriber connection) and a v1
// subscriber (single connection) receive continuous media, every connection took the direct
// path, and the node read the v0 subscriber's RTCP itself.
func TestDirectEgress(t *testing.T) {
	n := startNode(t)
	const room = "egress"
	a := joinRoom(t, n, room, "alice")
	cam := publishCamera(t, a)
	mic := publishMic(t, a)
	b := joinRoom(t, n, room, "bob")
	c := joinSinglePC(t, n, room, "carol")
	var recs []*trackRecorder
	for _, x := range []*client{b, c} {
		for _, sid := range []string{cam.pub.SID(), mic.pub.SID()} {
			r := x.subscribed(t, sid)
			waitPackets(t, r, 100, x.identity+" receives alice's tracks")
			recs = append(recs, r)
		}
	}
	url := n.HTTPURL()
	// alice's and bob's subscriber connections and carol's single one.
	require.GreaterOrEqual(t, scrape(t, url, "edge_egress_connections_total", `mode="direct"`), 3.0)
	require.Zero(t, scrape(t, url, "edge_egress_connections_total", `mode="pion"`), "connections handed to pion")
	require.Positive(t, scrape(t, url, "edge_egress_direct_packets_total", ""))
	require.Zero(t, scrape(t, url, "edge_egress_direct_errors_total", ""))
	waitFor(t, func() bool { return scrape(t, url, "edge_egress_rtcp_in_total", "") > 0 },
		func() string { return "the node read no subscriber RTCP itself" })
	require.Zero(t, scrape(t, url, "edge_egress_rtcp_in_errors_total", ""), "refused subscriber RTCP")
	for _, r := range recs {
		checkContinuity(t, r.snapshot())
		require.NoError(t, r.err())
	}
	// alice's and bob's subscriber connections; carol's single one carries her own media too,
	// so pion reads its RTCP. When bob leaves, his connection stops being read.
	intercepted := func() float64 { return scrape(t, url, "edge_egress_rtcp_intercepted_connections", "") }
	require.Equal(t, 2.0, intercepted())
	b.leave(t)
	waitFor(t, func() bool { return intercepted() == 1 },
		func() string { return "bob's connection is still intercepted after he left" })
}

// TestPionEgress: with direct sends configured off, pion's writer sends everything.
func TestPionEgress(t *testing.T) {
	n := startNodeWith(t, func(c *node.Config) { c.NoDirectEgress = true })
	const room = "pion-egress"
	a := joinRoom(t, n, room, "alice")
	cam := publishCamera(t, a)
	b := joinRoom(t, n, room, "bob")
	r := b.subscribed(t, cam.pub.SID())
	waitPackets(t, r, 100, "bob receives alice's camera")
	url := n.HTTPURL()
	require.Zero(t, scrape(t, url, "edge_egress_connections_total", `mode="direct"`))
	require.Zero(t, scrape(t, url, "edge_egress_direct_packets_total", ""))
	checkContinuity(t, r.snapshot())
	require.NoError(t, r.err())
}
