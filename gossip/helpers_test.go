package gossip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests. memberlist's probe goroutine may still
// be waiting out one probe interval (scaled by its health awareness) after Shutdown: it ends on
// its own timer, so it is ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"))
}

var testKey = bytes.Repeat([]byte{0x5a}, 32)

// safeLog writes to t.Log until the test's cleanups run last; memberlist may log from goroutines
// that outlive a test by a moment.
type safeLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *safeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimSpace(p)))
	}
	return len(p), nil
}

func testLogger(t *testing.T) zerolog.Logger {
	w := &safeLog{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return zerolog.New(w).Level(zerolog.WarnLevel)
}

// testConfig is a loopback config with test-friendly reconnect and sync timings.
func testConfig(t *testing.T, id string) Config {
	return Config{
		NodeID: id, Region: "test", SecretKey: testKey, BindAddr: "127.0.0.1",
		Logger: testLogger(t), TCPTimeout: time.Second, ReconnectInterval: time.Second,
		SyncGrace: 500 * time.Millisecond, Meta: NodeMeta{SignalURL: "ws://" + id},
	}
}

// faultNet cuts gossip between groups of nodes: while cut, packets between groups are silently
// dropped and streams refused, like a network partition.
type faultNet struct {
	mu    sync.Mutex // guards group and cut
	group map[string]int
	cut   bool
}

func (n *faultNet) set(cut bool) { n.mu.Lock(); n.cut = cut; n.mu.Unlock() }

func (n *faultNet) blocked(from, to string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	gf, ok1 := n.group[from]
	gt, ok2 := n.group[to]
	return n.cut && ok1 && ok2 && gf != gt
}

// faultTransport is a NetTransport on 127.0.0.1 subject to its faultNet; capture, if set, sees
// every byte the node sends (packets and streams).
type faultTransport struct {
	*memberlist.NetTransport
	addr    string
	net     *faultNet
	capture func([]byte)
}

func newFaultTransport(t *testing.T, n *faultNet, group int, capture func([]byte)) *faultTransport {
	t.Helper()
	nt, err := newNetTransport("127.0.0.1", 0, log.New(io.Discard, "", 0))
	require.NoError(t, err)
	ft := &faultTransport{NetTransport: nt, addr: fmt.Sprintf("127.0.0.1:%d", nt.GetAutoBindPort()), net: n, capture: capture}
	if n != nil {
		n.mu.Lock()
		if n.group == nil {
			n.group = make(map[string]int)
		}
		n.group[ft.addr] = group
		n.mu.Unlock()
	}
	return ft
}

func (t *faultTransport) blocked(to string) bool { return t.net != nil && t.net.blocked(t.addr, to) }

func (t *faultTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *faultTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.blocked(a.Addr) {
		return time.Now(), nil
	}
	if t.capture != nil {
		t.capture(b)
	}
	return t.NetTransport.WriteToAddress(b, a)
}

func (t *faultTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *faultTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.blocked(a.Addr) {
		return nil, errors.New("partitioned")
	}
	c, err := t.NetTransport.DialAddressTimeout(a, timeout)
	if err != nil || t.capture == nil {
		return c, err
	}
	return &captureConn{Conn: c, capture: t.capture}, nil
}

type captureConn struct {
	net.Conn
	capture func([]byte)
}

func (c *captureConn) Write(b []byte) (int, error) {
	c.capture(b)
	return c.Conn.Write(b)
}

// startNode starts a cluster node from cfg and shuts it down at cleanup.
func startNode(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	c, err := New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Start(ctx))
	t.Cleanup(func() { _ = c.Shutdown() })
	return c
}

// startCluster starts n nodes n0..n(n-1), each joining n0, and waits until all see all.
func startCluster(t *testing.T, n int, mutate func(i int, cfg *Config)) []*Cluster {
	t.Helper()
	nodes := make([]*Cluster, 0, n)
	for i := range n {
		cfg := testConfig(t, fmt.Sprintf("n%d", i))
		if i > 0 {
			cfg.Join = []string{nodes[0].Addr()}
		}
		if mutate != nil {
			mutate(i, &cfg)
		}
		nodes = append(nodes, startNode(t, cfg))
	}
	waitMembers(t, nodes, n)
	return nodes
}

// waitMembers waits until every node counts want alive members.
func waitMembers(t *testing.T, nodes []*Cluster, want int) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, c := range nodes {
			if aliveCount(c) != want {
				return false
			}
		}
		return true
	}, 15*time.Second, 20*time.Millisecond, "cluster did not converge to %d members", want)
}

func aliveCount(c *Cluster) int {
	n := 0
	for _, info := range c.Nodes() {
		if info.Liveness <= Suspect {
			n++
		}
	}
	return n
}

// percentile returns the p-th percentile (0–100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p/100*float64(len(s)-1) + 0.5)
	return s[min(i, len(s)-1)]
}
