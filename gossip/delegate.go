package gossip

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// delegate connects memberlist to the Cluster. memberlist calls these methods from its packet
// and stream handlers and, for the event methods, while holding its node lock, so every method
// only decodes, copies and updates in-memory state under short locks, queues events and wakes
// goroutines with non-blocking sends. None performs I/O or calls back into memberlist.
type delegate struct{ c *Cluster }

var (
	_ memberlist.Delegate      = delegate{}
	_ memberlist.EventDelegate = delegate{}
	_ memberlist.PingDelegate  = delegate{}
)

// NodeMeta returns the encoded local metadata (already validated against the limit).
func (d delegate) NodeMeta(limit int) []byte {
	b := *d.c.metaBytes.Load()
	if len(b) > limit {
		d.c.stats.badMeta.Add(1)
		return nil
	}
	return b
}

// NotifyMsg receives a directory delta (broadcast or stream); b is copied if retained.
func (d delegate) NotifyMsg(b []byte) { d.c.dir.handleMessage(b) }

// GetBroadcasts hands queued directory deltas to memberlist's gossip.
func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.c.dir.getBroadcasts(overhead, limit)
}

// LocalState is the directory's push/pull payload (digests, or everything on join).
func (d delegate) LocalState(join bool) []byte { return d.c.dir.localState(join) }

// MergeRemoteState merges a peer's push/pull payload.
func (d delegate) MergeRemoteState(buf []byte, join bool) { d.c.dir.mergeState(buf, join) }

// NotifyJoin: a node joined or came back.
func (d delegate) NotifyJoin(n *memberlist.Node) {
	ev, epoch := d.c.nodes.alive(n, NodeJoined, time.Now())
	d.c.dir.nodeAlive(n.Name, epoch)
	d.c.nodeEvents.push(ev)
}

// NotifyUpdate: a node's metadata changed (possibly its epoch: it restarted).
func (d delegate) NotifyUpdate(n *memberlist.Node) {
	ev, epoch := d.c.nodes.alive(n, NodeUpdated, time.Now())
	d.c.dir.nodeAlive(n.Name, epoch)
	d.c.nodeEvents.push(ev)
}

// NotifyLeave: a node left or was declared dead; its directory entries vanish.
func (d delegate) NotifyLeave(n *memberlist.Node) {
	ev, cause := d.c.nodes.leave(n, time.Now())
	if n.Name != d.c.cfg.NodeID {
		d.c.dir.nodeGone(n.Name, cause)
	}
	d.c.nodeEvents.push(ev)
}

// AckPayload adds nothing to probe acks.
func (d delegate) AckPayload() []byte { return nil }

// NotifyPingComplete records the RTT of a direct probe.
func (d delegate) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, _ []byte) {
	d.c.nodes.ping(other.Name, rtt, time.Now())
}
