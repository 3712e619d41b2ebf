package gossip

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
)

func identities(d *Directory, room string) []string {
	var out []string
	for _, p := range d.Participants(room) {
		out = append(out, p.Info.Identity)
	}
	slices.Sort(out)
	return out
}

func TestPartitionAndHeal(t *testing.T) {
	// "short": the partition ends while memberlist still gossips to the dead nodes, which refute.
	// "long": it outlasts GossipToTheDeadTime; the reconnect loop re-joins the failed nodes.
	for _, tc := range []struct {
		name         string
		toTheDead    time.Duration
		holdAfterCut time.Duration
	}{{"short", 0, 0}, {"long", 300 * time.Millisecond, 2 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) { testPartitionAndHeal(t, tc.toTheDead, tc.holdAfterCut) })
	}
}

func testPartitionAndHeal(t *testing.T, toTheDead, hold time.Duration) {
	fn := &faultNet{}
	nodes := startCluster(t, 4, func(i int, cfg *Config) {
		cfg.Transport = newFaultTransport(t, fn, i/2, nil) // {n0, n1} | {n2, n3}
		cfg.GossipToTheDeadTime = toTheDead
	})
	left, right := nodes[:2], nodes[2:]
	for i, n := range nodes {
		require.NoError(t, n.Directory().PutRoom(&livekit.Room{Name: "r", Sid: "RM_r", CreationTimeMs: 1}))
		require.NoError(t, n.Directory().PutParticipant("r", &livekit.ParticipantInfo{Identity: fmt.Sprint("p", i)}))
	}
	all := []string{"p0", "p1", "p2", "p3"}
	require.Eventually(t, func() bool {
		for _, n := range nodes {
			if !slices.Equal(identities(n.Directory(), "r"), all) {
				return false
			}
		}
		return true
	}, 10*time.Second, 10*time.Millisecond)

	fn.set(true)
	cut := time.Now()
	// Each side declares the other dead and drops its entries...
	sideSees := func(side []*Cluster, want []string) func() bool {
		return func() bool {
			for _, n := range side {
				if !slices.Equal(identities(n.Directory(), "r"), want) || aliveCount(n) != 2 {
					return false
				}
			}
			return true
		}
	}
	require.Eventually(t, sideSees(left, []string{"p0", "p1"}), 15*time.Second, 20*time.Millisecond)
	require.Eventually(t, sideSees(right, []string{"p2", "p3"}), 15*time.Second, 20*time.Millisecond)
	t.Logf("partition detected on both sides after %v", time.Since(cut))

	// ... and keeps working: local writes are visible on their own side only.
	require.NoError(t, nodes[0].Directory().PutParticipant("r", &livekit.ParticipantInfo{Identity: "left-new"}))
	require.True(t, nodes[1].Directory().RemoveParticipant("r", "p1"))
	require.NoError(t, nodes[3].Directory().PutParticipant("r", &livekit.ParticipantInfo{Identity: "right-new"}))
	require.NoError(t, nodes[2].Directory().SetRoomMetadata("r", "written during the partition"))
	require.Eventually(t, sideSees(left, []string{"left-new", "p0"}), 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, sideSees(right, []string{"p2", "p3", "right-new"}), 10*time.Second, 10*time.Millisecond)

	time.Sleep(hold) // the partition itself: nothing to poll for
	fn.set(false)
	healed := time.Now()
	waitMembers(t, nodes, 4)
	want := []string{"left-new", "p0", "p2", "p3", "right-new"}
	require.Eventually(t, func() bool {
		ref := view(nodes[0].Directory())
		for _, n := range nodes {
			if !slices.Equal(identities(n.Directory(), "r"), want) || !slices.Equal(view(n.Directory()), ref) {
				return false
			}
		}
		return true
	}, 20*time.Second, 20*time.Millisecond, "directories equal after heal")
	t.Logf("healed: all directories equal %v after the partition ended", time.Since(healed))
	r, ok := nodes[0].Directory().Room("r")
	require.True(t, ok)
	require.Equal(t, "written during the partition", r.Room.Metadata)
	require.Equal(t, []string{"n0", "n1", "n2", "n3"}, r.Nodes)
}
