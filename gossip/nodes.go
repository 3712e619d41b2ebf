package gossip

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Liveness is a node's membership state as seen from this node.
type Liveness uint8

const (
	// Alive: a member in good standing.
	Alive Liveness = iota
	// Suspect: still a member, but this node has had no direct probe ack from it for two probe
	// rounds (memberlist keeps its own suspicion state private; this is our local evidence). A
	// suspect node either answers again or is declared Dead by the cluster.
	Suspect
	// Dead: declared failed by the cluster (killed, crashed, partitioned away).
	Dead
	// Left: left the cluster gracefully (Cluster.Leave).
	Left
)

func (l Liveness) String() string {
	return [...]string{"alive", "suspect", "dead", "left", "unknown"}[min(int(l), 4)]
}

// NodeInfo describes one node of the cluster.
type NodeInfo struct {
	// ID is the node's id (memberlist node name).
	ID string
	// Meta is the node's advertised metadata (only Meta.NodeID is set if it failed to decode).
	Meta NodeMeta
	// Addr is the node's gossip address ("host:port").
	Addr     string
	Liveness Liveness
	// Local marks this node itself.
	Local bool
	// RTT is the round trip of this node's last direct probe of it (0 until one completed).
	RTT time.Duration
	// LastAck is when that probe completed.
	LastAck time.Time
	// Since is when Liveness last changed.
	Since time.Time
}

// NodeEventKind is the kind of a NodeEvent.
type NodeEventKind uint8

const (
	// NodeJoined: a node joined (or came back after being declared dead).
	NodeJoined NodeEventKind = iota + 1
	// NodeUpdated: a node's metadata changed, or it became suspect or alive again.
	NodeUpdated
	// NodeLeft: a node left (Liveness Left) or was declared dead (Liveness Dead).
	NodeLeft
	// NodeResync: node events were dropped; re-read Cluster.Nodes.
	NodeResync
)

func (k NodeEventKind) String() string {
	return [...]string{"invalid", "joined", "updated", "left", "resync", "unknown"}[min(int(k), 5)]
}

// NodeEvent is a membership change.
type NodeEvent struct {
	Kind NodeEventKind
	Node NodeInfo
}

// nodeTable tracks the nodes memberlist told us about. Its methods are called from memberlist's
// event and ping delegates and must stay short and non-blocking.
type nodeTable struct {
	self  string
	stats *counters
	// members counts alive and suspect nodes, ourselves included (read by the broadcast queue).
	members atomic.Int64

	mu    sync.Mutex // guards nodes
	nodes map[string]*NodeInfo
}

func newNodeTable(self string, stats *counters) *nodeTable {
	return &nodeTable{self: self, stats: stats, nodes: make(map[string]*NodeInfo)}
}

// alive records a join or an update; it returns the event and the node's directory epoch.
func (t *nodeTable) alive(n *memberlist.Node, kind NodeEventKind, now time.Time) (NodeEvent, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	info := t.nodes[n.Name]
	if info == nil {
		info = &NodeInfo{ID: n.Name, Local: n.Name == t.self, Liveness: Dead}
		t.nodes[n.Name] = info
	}
	t.setMeta(info, n)
	info.Addr = n.Address()
	if info.Liveness >= Dead {
		t.members.Add(1)
		info.Liveness, info.Since = Alive, now
		kind = NodeJoined
	}
	return NodeEvent{Kind: kind, Node: *info}, info.Meta.Epoch
}

// leave records a departure; Left if the node announced it (NodeLeaving), Dead otherwise.
func (t *nodeTable) leave(n *memberlist.Node, now time.Time) (NodeEvent, Cause) {
	t.mu.Lock()
	defer t.mu.Unlock()
	info := t.nodes[n.Name]
	if info == nil {
		info = &NodeInfo{ID: n.Name, Local: n.Name == t.self, Liveness: Dead}
		t.nodes[n.Name] = info
	}
	t.setMeta(info, n)
	if info.Liveness < Dead {
		t.members.Add(-1)
	}
	info.Liveness, info.Since = Dead, now
	if info.Meta.State == NodeLeaving {
		info.Liveness = Left
	}
	cause := CauseNodeFailed
	if info.Liveness == Left {
		cause = CauseNodeLeft
	}
	return NodeEvent{Kind: NodeLeft, Node: *info}, cause
}

func (t *nodeTable) setMeta(info *NodeInfo, n *memberlist.Node) {
	if len(n.Meta) == 0 {
		info.Meta.NodeID = n.Name
		return
	}
	m, err := DecodeNodeMeta(n.Meta)
	if err != nil || m.NodeID != n.Name {
		t.stats.badMeta.Add(1)
		info.Meta = NodeMeta{NodeID: n.Name}
		return
	}
	info.Meta = m
}

// ping records a completed direct probe.
func (t *nodeTable) ping(name string, rtt time.Duration, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if info := t.nodes[name]; info != nil {
		info.RTT, info.LastAck = rtt, now
	}
}

// suspectAfter is how long without a direct ack makes a member suspect: memberlist probes one
// peer per ProbeInterval round-robin (slower when its health score is degraded), so a peer is
// probed about once every members-1 intervals; two rounds plus one interval without an ack is
// evidence of trouble.
func suspectAfter(probeInterval time.Duration, members, health int) time.Duration {
	return time.Duration(2*max(1, members-1)*(health+1)+1) * probeInterval
}

// tick updates Alive↔Suspect from probe evidence and forgets departed nodes after retention.
func (t *nodeTable) tick(now time.Time, suspect, retention time.Duration) []NodeEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	var evs []NodeEvent
	for id, info := range t.nodes {
		switch {
		case info.Liveness >= Dead:
			if now.Sub(info.Since) > retention {
				delete(t.nodes, id)
			}
			continue
		case info.Local:
			continue
		}
		last := info.LastAck
		if last.Before(info.Since) {
			last = info.Since
		}
		want := Alive
		if now.Sub(last) > suspect {
			want = Suspect
		}
		if want != info.Liveness {
			info.Liveness, info.Since = want, now
			evs = append(evs, NodeEvent{Kind: NodeUpdated, Node: *info})
		}
	}
	return evs
}

// list returns every known node (departed ones until retention), sorted by id.
func (t *nodeTable) list() []NodeInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]NodeInfo, 0, len(t.nodes))
	for _, info := range t.nodes {
		out = append(out, *info)
	}
	slices.SortFunc(out, func(a, b NodeInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (t *nodeTable) get(id string) (NodeInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if info := t.nodes[id]; info != nil {
		return *info, true
	}
	return NodeInfo{}, false
}

// isMember reports whether id is alive or suspect.
func (t *nodeTable) isMember(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	info := t.nodes[id]
	return info != nil && info.Liveness < Dead
}

// randomMember returns a random alive or suspect node other than ourselves.
func (t *nodeTable) randomMember() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ids []string
	for id, info := range t.nodes {
		if !info.Local && info.Liveness < Dead {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "", false
	}
	return ids[rand.IntN(len(ids))], true
}

// failedAddrs lists the addresses of nodes declared dead (not left) within timeout.
func (t *nodeTable) failedAddrs(now time.Time, timeout time.Duration) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, info := range t.nodes {
		if info.Liveness == Dead && !info.Local && now.Sub(info.Since) <= timeout && info.Addr != "" {
			out = append(out, info.Addr)
		}
	}
	return out
}
