package gossip

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func mlNode(t *testing.T, name string, meta NodeMeta) *memberlist.Node {
	t.Helper()
	meta.NodeID = name
	b, err := EncodeNodeMeta(meta)
	require.NoError(t, err)
	return &memberlist.Node{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: 7946, Meta: b}
}

func TestSuspectAfter(t *testing.T) {
	pi := 500 * time.Millisecond
	for _, tc := range []struct {
		members, health int
		want            time.Duration
	}{
		{1, 0, 1500 * time.Millisecond}, // alone: still a floor of one round
		{2, 0, 1500 * time.Millisecond}, // one peer, probed every interval
		{3, 0, 2500 * time.Millisecond},
		{10, 0, 9500 * time.Millisecond},
		{3, 1, 4500 * time.Millisecond}, // degraded health slows probing: wait longer
	} {
		require.Equal(t, tc.want, suspectAfter(pi, tc.members, tc.health), "%+v", tc)
	}
}

func TestNodeTableLiveness(t *testing.T) {
	t0 := time.Unix(1000, 0)
	nt := newNodeTable("self", &counters{})
	ev, _ := nt.alive(mlNode(t, "self", NodeMeta{}), NodeJoined, t0)
	require.True(t, ev.Node.Local)
	ev, epoch := nt.alive(mlNode(t, "b", NodeMeta{Region: "eu", Epoch: 7}), NodeJoined, t0)
	require.Equal(t, NodeJoined, ev.Kind)
	require.Equal(t, uint64(7), epoch)
	require.Equal(t, "127.0.0.1:7946", ev.Node.Addr)
	require.Equal(t, int64(2), nt.members.Load())

	suspect := 2 * time.Second
	require.Empty(t, nt.tick(t0.Add(time.Second), suspect, time.Minute))
	nt.ping("b", 3*time.Millisecond, t0.Add(time.Second))
	require.Empty(t, nt.tick(t0.Add(2500*time.Millisecond), suspect, time.Minute), "ack within the window")
	evs := nt.tick(t0.Add(3100*time.Millisecond), suspect, time.Minute)
	require.Len(t, evs, 1)
	require.Equal(t, Suspect, evs[0].Node.Liveness)
	require.Equal(t, 3*time.Millisecond, evs[0].Node.RTT)
	require.True(t, nt.isMember("b"), "suspect nodes are still members")
	nt.ping("b", time.Millisecond, t0.Add(3200*time.Millisecond))
	evs = nt.tick(t0.Add(3300*time.Millisecond), suspect, time.Minute)
	require.Len(t, evs, 1)
	require.Equal(t, Alive, evs[0].Node.Liveness)

	// Metadata update, then a failure: Dead (no leaving announcement).
	ev, _ = nt.alive(mlNode(t, "b", NodeMeta{Region: "eu", State: NodeDraining}), NodeUpdated, t0.Add(4*time.Second))
	require.Equal(t, NodeUpdated, ev.Kind)
	require.Equal(t, NodeDraining, ev.Node.Meta.State)
	ev, cause := nt.leave(mlNode(t, "b", NodeMeta{Region: "eu", State: NodeDraining}), t0.Add(5*time.Second))
	require.Equal(t, Dead, ev.Node.Liveness)
	require.Equal(t, CauseNodeFailed, cause)
	require.False(t, nt.isMember("b"))
	require.Equal(t, []string{"127.0.0.1:7946"}, nt.failedAddrs(t0.Add(6*time.Second), time.Minute))
	require.Equal(t, int64(1), nt.members.Load())

	// It comes back (healed partition), then leaves gracefully: Left, not retried.
	ev, _ = nt.alive(mlNode(t, "b", NodeMeta{}), NodeUpdated, t0.Add(7*time.Second))
	require.Equal(t, NodeJoined, ev.Kind, "back from dead is a join")
	_, _ = nt.alive(mlNode(t, "b", NodeMeta{State: NodeLeaving}), NodeUpdated, t0.Add(8*time.Second))
	ev, cause = nt.leave(mlNode(t, "b", NodeMeta{State: NodeLeaving}), t0.Add(9*time.Second))
	require.Equal(t, Left, ev.Node.Liveness)
	require.Equal(t, CauseNodeLeft, cause)
	require.Empty(t, nt.failedAddrs(t0.Add(10*time.Second), time.Minute))

	// Departed nodes are forgotten after retention; bad metadata is counted.
	nt.tick(t0.Add(2*time.Minute), suspect, time.Minute)
	_, ok := nt.get("b")
	require.False(t, ok)
	bad := &memberlist.Node{Name: "c", Addr: net.IPv4(127, 0, 0, 1), Meta: []byte{9, 9}}
	ev, _ = nt.alive(bad, NodeJoined, t0)
	require.Equal(t, "c", ev.Node.Meta.NodeID)
	require.Equal(t, uint64(1), nt.stats.badMeta.Load())
	require.Equal(t, []string{"c", "self"}, []string{nt.list()[0].ID, nt.list()[1].ID})
}

func TestLogBridge(t *testing.T) {
	var out bytes.Buffer
	dropped := 0
	b := newLogBridge(zerolog.New(&out).Level(zerolog.InfoLevel), 2, func() { dropped++ })
	now := time.Unix(1000, 0)
	b.now = func() time.Time { return now }
	l := b.logger()
	l.Printf("[DEBUG] memberlist: noise")
	l.Printf("[WARN] memberlist: Refuting a suspect message")
	l.Printf("[ERR] memberlist: Decrypt packet failed")
	l.Printf("[ERR] memberlist: Decrypt packet failed")
	require.Equal(t, 1, dropped, "rate limited to 2 lines per second")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], `"level":"warn"`)
	require.Contains(t, lines[0], `"message":"Refuting a suspect message"`)
	require.Contains(t, lines[1], `"level":"error"`)
	now = now.Add(time.Second)
	b.closing.Store(true)
	l.Printf("[ERR] memberlist: use of closed network connection")
	require.Len(t, strings.Split(strings.TrimSpace(out.String()), "\n"), 2, "errors while closing are debug")
}
