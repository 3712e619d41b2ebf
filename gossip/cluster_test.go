package gossip

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
)

// arrivals records when each identity first showed up (or disappeared) in a directory.
type arrivals struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func watch(d *Directory, kind EventKind) *arrivals {
	a := &arrivals{seen: make(map[string]time.Time)}
	d.Subscribe(func(ev Event) {
		if ev.Kind != kind {
			return
		}
		a.mu.Lock()
		if _, ok := a.seen[ev.Participant.Info.Identity]; !ok {
			a.seen[ev.Participant.Info.Identity] = time.Now()
		}
		a.mu.Unlock()
	})
	return a
}

func (a *arrivals) at(id string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.seen[id]
	return at, ok
}

func TestClusterPropagation(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]

	// Node metadata is advertised and updated.
	require.NoError(t, a.SetLocalMeta(NodeMeta{SignalURL: "wss://a.example", RelayAddr: "127.0.0.1:7883",
		State: NodeDraining, Load: Load{Participants: 3, Tracks: 6, CPU: 12.5}}))
	require.Eventually(t, func() bool {
		info, ok := c.Node("n0")
		return ok && info.Meta.SignalURL == "wss://a.example" && info.Meta.State == NodeDraining &&
			info.Meta.Load.Participants == 3 && info.Meta.Region == "test"
	}, 10*time.Second, 20*time.Millisecond)
	self, ok := a.Node("n0")
	require.True(t, ok)
	require.True(t, self.Local)
	require.Eventually(t, func() bool { info, _ := b.Node("n2"); return info.RTT > 0 }, 10*time.Second, 20*time.Millisecond,
		"direct probes report an RTT")

	// 50 participants put on A, one at a time: time until both B and C have each.
	onB, onC := watch(b.Directory(), ParticipantUpserted), watch(c.Directory(), ParticipantUpserted)
	require.NoError(t, a.Directory().PutRoom(&livekit.Room{Name: "lat", Sid: "RM_lat", CreationTimeMs: 1}))
	var lat []time.Duration
	for i := range 50 {
		id := fmt.Sprintf("p%02d", i)
		start := time.Now()
		require.NoError(t, a.Directory().PutParticipant("lat", richParticipant(id)))
		var tb, tc time.Time
		require.Eventually(t, func() bool {
			var ok1, ok2 bool
			tb, ok1 = onB.at(id)
			tc, ok2 = onC.at(id)
			return ok1 && ok2
		}, 10*time.Second, time.Millisecond)
		lat = append(lat, max(tb.Sub(start), tc.Sub(start)))
	}
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	t.Logf("propagation A→{B,C} over %d puts: p50 %v p99 %v max %v", len(lat), p50, p99, percentile(lat, 100))
	require.LessOrEqual(t, p99, time.Second, "p99 propagation")
	for _, n := range nodes {
		require.Len(t, n.Directory().Participants("lat"), 50)
		r, ok := n.Directory().Room("lat")
		require.True(t, ok)
		require.Equal(t, "RM_lat", r.Room.Sid)
	}

	// Removals propagate.
	goneB := watch(b.Directory(), ParticipantRemoved)
	for i := range 50 {
		require.True(t, a.Directory().RemoveParticipant("lat", fmt.Sprintf("p%02d", i)))
	}
	require.True(t, a.Directory().RemoveRoom("lat"))
	require.Eventually(t, func() bool {
		return len(b.Directory().Participants("lat")) == 0 && len(c.Directory().Participants("lat")) == 0 &&
			len(b.Directory().Rooms()) == 0 && len(c.Directory().Rooms()) == 0
	}, 10*time.Second, 10*time.Millisecond)
	_, ok = goneB.at("p49")
	require.True(t, ok)
	require.Zero(t, b.Stats().MessagesMalformed)
	require.NotZero(t, a.Stats().BytesSent)
}

func TestGracefulLeave(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	a, c := nodes[0], nodes[2]
	require.NoError(t, c.Directory().PutParticipant("r", &livekit.ParticipantInfo{Identity: "carol"}))
	require.Eventually(t, func() bool { return len(a.Directory().Participants("r")) == 1 }, 10*time.Second, 10*time.Millisecond)

	causes := make(chan Cause, 4)
	a.Directory().Subscribe(func(ev Event) {
		if ev.Kind == ParticipantRemoved {
			causes <- ev.Cause
		}
	})
	left := make(chan NodeInfo, 4)
	a.SubscribeNodes(func(ev NodeEvent) {
		if ev.Kind == NodeLeft {
			left <- ev.Node
		}
	})
	require.NoError(t, c.Leave(3*time.Second))
	require.NoError(t, c.Shutdown())
	select {
	case info := <-left:
		require.Equal(t, "n2", info.ID)
		require.Equal(t, Left, info.Liveness)
	case <-time.After(10 * time.Second):
		t.Fatal("no NodeLeft event")
	}
	select {
	case cause := <-causes:
		require.Equal(t, CauseNodeLeft, cause)
	case <-time.After(10 * time.Second):
		t.Fatal("carol not removed")
	}
	require.Empty(t, a.Directory().Participants("r"))
	info, ok := a.Node("n2")
	require.True(t, ok, "departed nodes stay listed")
	require.Equal(t, Left, info.Liveness)
	_, err := c.Join([]string{a.Addr()})
	require.ErrorIs(t, err, ErrClosed)
}

func TestKilledNodeEntriesVanish(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	for i := range 5 {
		require.NoError(t, c.Directory().PutParticipant("r", &livekit.ParticipantInfo{Identity: fmt.Sprint("c", i)}))
	}
	require.NoError(t, c.Directory().PutRoom(&livekit.Room{Name: "r"}))
	require.Eventually(t, func() bool {
		return len(a.Directory().Participants("r")) == 5 && len(b.Directory().Participants("r")) == 5
	}, 10*time.Second, 10*time.Millisecond)

	type death struct {
		at       time.Time
		liveness Liveness
	}
	dead := make(chan death, 1)
	a.SubscribeNodes(func(ev NodeEvent) {
		if ev.Kind == NodeLeft && ev.Node.ID == "n2" {
			dead <- death{time.Now(), ev.Node.Liveness}
		}
	})
	killed := time.Now()
	require.NoError(t, c.Shutdown()) // no Leave: a crash as far as the others can tell
	require.Eventually(t, func() bool {
		return len(a.Directory().Participants("r")) == 0 && len(b.Directory().Participants("r")) == 0 &&
			len(a.Directory().Rooms()) == 0 && len(b.Directory().Rooms()) == 0
	}, 10*time.Second, 10*time.Millisecond, "a killed node's entries vanish within 10 s")
	gone := time.Since(killed)
	d := <-dead
	require.Equal(t, Dead, d.liveness)
	detected := d.at.Sub(killed)
	// Typically 2–3 s on an idle machine (the design target is < 5 s); the hard bound is the
	// 10 s above, because memberlist backs probing off when the machine is starved of CPU.
	t.Logf("killed node declared dead after %v; its entries gone everywhere after %v", detected, gone)
	info, _ := a.Node("n2")
	require.Equal(t, Dead, info.Liveness)
}

func TestRestartedNodeReplacesItsEntries(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	a, c := nodes[0], nodes[1]
	require.NoError(t, c.Directory().PutParticipant("r", &livekit.ParticipantInfo{Identity: "old"}))
	require.Eventually(t, func() bool { return len(a.Directory().Participants("r")) == 1 }, 10*time.Second, 10*time.Millisecond)

	// Restart n1 on the same address with a new epoch before it is declared dead.
	addr := c.Addr()
	require.NoError(t, c.Shutdown())
	cfg := testConfig(t, "n1")
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	cfg.BindPort, err = strconv.Atoi(port)
	require.NoError(t, err)
	cfg.Join = []string{a.Addr()}
	c2 := startNode(t, cfg)
	require.NoError(t, c2.Directory().PutParticipant("r", &livekit.ParticipantInfo{Identity: "new"}))
	require.Eventually(t, func() bool {
		ps := a.Directory().Participants("r")
		return len(ps) == 1 && ps[0].Info.Identity == "new"
	}, 10*time.Second, 10*time.Millisecond)
}

func TestLargeEntryTravelsOverStreams(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	big := richParticipant("big")
	big.Metadata = string(make([]byte, 8<<10))
	require.NoError(t, nodes[0].Directory().PutParticipant("r", big))
	for _, n := range nodes[1:] {
		require.Eventually(t, func() bool {
			p, ok := n.Directory().Participant("r", "big")
			return ok && len(p.Info.Metadata) == 8<<10
		}, 10*time.Second, 10*time.Millisecond)
	}
	s := nodes[0].Stats()
	require.Equal(t, uint64(1), s.LargeDeltas)
	require.Equal(t, uint64(2), s.StreamSends)
}

func TestConfigValidation(t *testing.T) {
	cases := map[string]func(*Config){
		"no node id":        func(c *Config) { c.NodeID = "" },
		"no key":            func(c *Config) { c.SecretKey = nil },
		"short key":         func(c *Config) { c.SecretKey = testKey[:16] },
		"probe timeout":     func(c *Config) { c.ProbeInterval, c.ProbeTimeout = time.Second, time.Second },
		"port":              func(c *Config) { c.BindPort = 70000 },
		"tiny packets":      func(c *Config) { c.PacketBufferSize = 100 },
		"meta too large":    func(c *Config) { c.Meta.SignalURL = string(make([]byte, 600)) },
		"dev with bad key":  func(c *Config) { c.Dev, c.SecretKey = true, []byte("short") },
		"negative duration": func(c *Config) { c.SyncGrace = -1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t, "x")
			mutate(&cfg)
			_, err := New(cfg)
			require.Error(t, err)
		})
	}
	cfg := testConfig(t, "x")
	cfg.Dev, cfg.SecretKey = true, nil
	c, err := New(cfg)
	require.NoError(t, err)
	require.ErrorIs(t, c.Leave(time.Second), ErrNotStarted)
	require.NoError(t, c.Shutdown())
	def := DefaultConfig()
	require.Equal(t, DefaultPort, def.BindPort)
	require.Equal(t, 500*time.Millisecond, def.ProbeInterval)
}

func TestMemberlistConfigEnforcesEncryption(t *testing.T) {
	cfg := testConfig(t, "x")
	cfg.ClusterName = "edge-test"
	cfg.populate()
	require.NoError(t, cfg.validate())
	mc := cfg.memberlistConfig(delegate{}, newLogBridge(cfg.Logger, 1, func() {}))
	require.Equal(t, testKey, mc.SecretKey)
	require.True(t, mc.GossipVerifyIncoming, "unencrypted incoming gossip is dropped")
	require.True(t, mc.GossipVerifyOutgoing, "outgoing gossip is always encrypted")
	require.Equal(t, "edge-test", mc.Label)
	require.Equal(t, "x", mc.Name)
	require.Equal(t, 500*time.Millisecond, mc.ProbeInterval)
	require.Equal(t, 250*time.Millisecond, mc.ProbeTimeout)
	require.Equal(t, 3, mc.SuspicionMult)
	require.Equal(t, 100*time.Millisecond, mc.GossipInterval)
	require.Equal(t, 5*time.Second, mc.PushPullInterval)
	require.Nil(t, mc.LogOutput)
	require.NotNil(t, mc.Logger)
}
