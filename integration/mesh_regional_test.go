package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// TestRegionalRelay: 5 edges in 3 regions in regional mode. A track published in region r0 is
// pulled by each other region's hub once and fans out inside the region, so it crosses each
// region boundary once (relay counters). Stopping r1's hub re-routes r1's other edge around it,
// and its subscriber gets media again within 5 s (measured).
func TestRegionalRelay(t *testing.T) {
	regions := []string{"r0", "r0", "r1", "r1", "r2"} // hubs: edge-0, edge-2, edge-4 (lowest id)
	nodes := startMeshWith(t, len(regions), func(i int, cfg *node.Config) {
		cfg.Region = regions[i]
		cfg.RelayMode = "regional"
	})
	const room = "regional"
	a := joinRoom(t, nodes[0], room, "alice")
	mic := publishMic(t, a)
	subs := map[int]*client{}
	for _, i := range []int{1, 3, 4} {
		c := joinRoom(t, nodes[i], room, fmt.Sprintf("sub-%d", i))
		waitPackets(t, c.subscribed(t, mic.pub.SID()), 30, c.identity+" receives alice")
		subs[i] = c
	}

	// Who pulls from whom: edge-3 (r1) from its hub edge-2, which pulls from edge-0; edge-4
	// (r2's hub) from edge-0; edge-1 (r0) from edge-0.
	pulls := func(i int, from string) bool {
		st, ok := nodes[i].RelayPeerStats(from)
		return ok && st.Subscriptions > 0
	}
	waitFor(t, func() bool {
		return pulls(3, "edge-2") && pulls(2, "edge-0") && pulls(4, "edge-0") && pulls(1, "edge-0")
	},
		func() string { return "relay routes are not the regional tree" })
	require.False(t, pulls(3, "edge-0"), "edge-3 pulls straight from the publisher's edge")
	// Region r1 receives the track once: edge-2 from edge-0, nothing else from outside r1.
	for _, i := range []int{2, 3} {
		for _, from := range []string{"edge-0", "edge-1", "edge-4"} {
			if i == 2 && from == "edge-0" {
				continue
			}
			require.False(t, pulls(i, from), "edge-%d pulls from %s across the region boundary", i, from)
		}
	}

	// Stop r1's hub: edge-3 must pull from elsewhere, and its subscriber get audio again.
	before := subs[3].ev.recorder(mic.pub.SID())
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, nodes[2].Shutdown(ctx))
	waitFor(t, func() bool {
		r := subs[3].ev.recorder(mic.pub.SID())
		return r != nil && r != before && r.count() > 10
	}, func() string { return "sub-3 got no media after its hub stopped" })
	took := time.Since(start)
	t.Logf("regional: r1's hub stopped; sub-3 on edge-3 received media again after %v", took)
	require.Less(t, took, 5*time.Second)
	require.True(t, pulls(3, "edge-0"), "edge-3 did not re-route to the feeder edge")
}

// TestRegionalHubKilled: r1's hub is an edge in a child process, killed with SIGKILL (no leave):
// once the mesh declares it dead, r1's other edge pulls the track around it and its subscriber
// gets media again within 5 s of the kill (failure detection included).
func TestRegionalHubKilled(t *testing.T) {
	regions := []string{"r0", "r1"} // in-process edge-0 (publisher) and edge-1 (r1, subscriber)
	nodes := startMeshWith(t, len(regions), func(i int, cfg *node.Config) {
		cfg.Region = regions[i]
		cfg.RelayMode = "regional"
	})
	// The child "edge-0h" sorts before "edge-1": it is r1's hub.
	hub := startChildEdge(t, "edge-0h", nodes[0].GossipAddr(), meshChildRegion+"=r1", meshChildMode+"=regional")
	waitFor(t, func() bool { return nodes[1].AliveNodes() == 3 }, func() string { return "the hub did not join" })

	a := joinRoom(t, nodes[0], "hubkill", "alice")
	mic := publishMic(t, a)
	b := joinRoom(t, nodes[1], "hubkill", "bob")
	waitPackets(t, b.subscribed(t, mic.pub.SID()), 30, "bob receives alice through r1's hub")
	viaHub := func() bool {
		st, ok := nodes[1].RelayPeerStats("edge-0h")
		return ok && st.Subscriptions > 0
	}
	waitFor(t, viaHub, func() string { return "edge-1 does not pull through its hub" })

	before := b.ev.recorder(mic.pub.SID())
	killed := time.Now()
	require.NoError(t, hub.cmd.Process.Kill()) // the process this test started
	waitFor(t, func() bool {
		r := b.ev.recorder(mic.pub.SID())
		return r != nil && r != before && r.count() > 10
	}, func() string { return "bob got no media after his hub was killed" })
	took := time.Since(killed)
	t.Logf("regional: hub SIGKILLed; bob received media again after %v (failure detection included)", took)
	require.Less(t, took, 5*time.Second)
}
