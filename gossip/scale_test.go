package gossip

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
)

// TestGossipScale is the directory benchmark of BENCHMARKS.md: 10 nodes on loopback, 200 rooms,
// 2,000 participants (audio + 3-layer simulcast video each). It measures the time until every
// node holds the full directory, the time a late joiner takes to get it, and gossip bytes/s per
// node at steady state (idle, then with updates). It is slow, so it only runs with
//
//	EDGE_GOSSIP_SCALE=1 go test -run TestGossipScale -v -timeout 10m ./gossip/
func TestGossipScale(t *testing.T) {
	if os.Getenv("EDGE_GOSSIP_SCALE") == "" {
		t.Skip("set EDGE_GOSSIP_SCALE=1 to run the directory scale benchmark")
	}
	const (
		numNodes = 10
		numRooms = 200
		numParts = 2000
	)
	// Default timings (the test config's shorter stream timeout, sync grace and reconnect
	// interval are reset): ten nodes on a shared two-core machine can stall a stream for > 1 s.
	nodes := startCluster(t, numNodes, func(_ int, cfg *Config) {
		cfg.TCPTimeout, cfg.SyncGrace, cfg.ReconnectInterval = 0, 0, 0
	})
	total := func(c *Cluster) (rooms, parts int) {
		rs := c.Directory().Rooms()
		for _, r := range rs {
			parts += int(r.Room.NumParticipants)
		}
		return len(rs), parts
	}
	complete := func(cs ...*Cluster) bool {
		for _, c := range cs {
			if r, p := total(c); r != numRooms || p != numParts {
				return false
			}
		}
		return true
	}

	start := time.Now()
	var wg sync.WaitGroup
	for n, c := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := n; i < numParts; i += numNodes {
				room := fmt.Sprintf("room-%03d", i%numRooms)
				if err := c.Directory().PutRoom(roomFor(room)); err != nil {
					t.Error(err)
				}
				if err := c.Directory().PutParticipant(room, richParticipant(fmt.Sprintf("p%04d", i))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	written := time.Since(start)
	require.Eventually(t, func() bool { return complete(nodes...) }, 5*time.Minute, 50*time.Millisecond)
	converged := time.Since(start)
	ref := view(nodes[0].Directory())
	for _, c := range nodes[1:] {
		require.True(t, slices.Equal(ref, view(c.Directory())), "%s differs", c.NodeID())
	}
	t.Logf("SCALE converge: %d nodes, %d rooms, %d participants written in %v; every node complete after %v",
		numNodes, numRooms, numParts, written, converged)

	// A late joiner gets everything through its join exchange.
	cfg := testConfig(t, "late")
	cfg.Join = []string{nodes[3].Addr()}
	joinStart := time.Now()
	late := startNode(t, cfg)
	require.Eventually(t, func() bool { return complete(late) }, time.Minute, 10*time.Millisecond)
	t.Logf("SCALE late joiner complete after %v (full state %d bytes received)", time.Since(joinStart), late.Stats().BytesReceived)
	require.NoError(t, late.Leave(2*time.Second))
	require.NoError(t, late.Shutdown())
	waitMembers(t, nodes, numNodes)

	// Steady state: let the broadcast queues drain, then measure over three push/pull intervals.
	drainStart := time.Now()
	require.Eventually(t, func() bool {
		for _, c := range nodes {
			if c.Stats().QueuedDeltas > 0 {
				return false
			}
		}
		return true
	}, 2*time.Minute, 100*time.Millisecond)
	t.Logf("SCALE broadcast queues drained %v after the late joiner left", time.Since(drainStart))
	window := 3 * nodes[0].cfg.PushPullInterval
	idle := measure(nodes, window, nil)
	t.Logf("SCALE idle steady state over %v: %s", window, idle)

	// Steady state with churn: 20 participant updates per second across the cluster.
	churn := func(stop <-chan struct{}) {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			id := (i * 7) % numParts
			p := richParticipant(fmt.Sprintf("p%04d", id))
			p.Tracks[1].Muted = i%2 == 0
			p.Metadata = fmt.Sprint("update ", i)
			_ = nodes[id%numNodes].Directory().PutParticipant(fmt.Sprintf("room-%03d", id%numRooms), p)
		}
	}
	busy := measure(nodes, window, churn)
	t.Logf("SCALE with 20 updates/s over %v: %s", window, busy)
	for _, c := range nodes {
		s := c.Stats()
		require.Zero(t, s.MessagesMalformed)
		t.Logf("SCALE %s totals: full syncs %d (errors %d), full states sent %d, pulls %d, deltas queued %d, stale records %d",
			c.NodeID(), s.FullSyncs, s.FullSyncErrors, s.FullStatesSent, s.PullsSent, s.DeltasBroadcast, s.RecordsStale)
	}
}

// measure returns per-node gossip traffic over window while load (if any) runs.
func measure(nodes []*Cluster, window time.Duration, load func(stop <-chan struct{})) string {
	before := make([]Stats, len(nodes))
	for i, c := range nodes {
		before[i] = c.Stats()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if load != nil {
			load(stop)
		}
	}()
	time.Sleep(window)
	close(stop)
	<-done
	var sent, recv, maxSent float64
	var syncs, fulls, pulls uint64
	for i, c := range nodes {
		s := c.Stats()
		syncs += s.FullSyncs - before[i].FullSyncs
		fulls += s.FullStatesSent - before[i].FullStatesSent
		pulls += s.PullsSent - before[i].PullsSent
		ds := float64(s.BytesSent-before[i].BytesSent) / window.Seconds()
		sent += ds
		recv += float64(s.BytesReceived-before[i].BytesReceived) / window.Seconds()
		maxSent = max(maxSent, ds)
	}
	n := float64(len(nodes))
	return fmt.Sprintf("per node sent %.0f B/s, received %.0f B/s (max sent %.0f B/s); cluster-wide: %d full exchanges started, %d full states sent, %d pulls",
		sent/n, recv/n, maxSent, syncs, fulls, pulls)
}

func roomFor(name string) *livekit.Room {
	return &livekit.Room{Name: name, Sid: "RM_" + name, CreationTimeMs: 1, EmptyTimeout: 300}
}
