package gossip

import (
	"sync"
	"time"
)

// The Cluster's background goroutines. Each owns one kind of slow work (memberlist calls that
// may block up to TCPTimeout) so that none delays the others; all stop when c.done closes.

// maintainLoop runs every ProbeInterval: liveness evidence, node reaping and directory upkeep.
func (c *Cluster) maintainLoop() {
	tick := time.NewTicker(c.cfg.ProbeInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case now := <-tick.C:
			ml, err := c.running()
			if err != nil {
				return
			}
			members := int(c.nodes.members.Load())
			suspect := suspectAfter(c.cfg.ProbeInterval, members, ml.GetHealthScore())
			c.nodeEvents.push(c.nodes.tick(now, suspect, c.cfg.DeadNodeRetention)...)
			c.dir.tick(now, c.nodes.isMember)
			if c.dir.queued() > backlogSync && len(c.syncCh) == 0 {
				if id, ok := c.nodes.randomMember(); ok {
					c.requestSync(syncRequest{id: id, backlog: true})
				}
			}
		}
	}
}

// backlogSync is the broadcast backlog (queued deltas) beyond which gossip packets cannot keep
// up (a burst of writes, a large join): the node then also runs a full state exchange with a
// random member every ProbeInterval, which moves the bulk over one TCP stream instead.
const backlogSync = 256

// syncRequest asks syncLoop for a full state exchange with node id; a backlog request is
// dropped if the backlog has drained by the time its turn comes.
type syncRequest struct {
	id      string
	backlog bool
}

// requestSync queues a full state exchange. Never blocks: if the queue is full the request is
// dropped and counted (a rejoin is retried by the reconnect loop, a backlog by the next tick).
func (c *Cluster) requestSync(r syncRequest) {
	select {
	case c.syncCh <- r:
	default:
		c.stats.syncErrors.Add(1)
	}
}

// minSyncGap spaces full state exchanges started by one node, so that a node that cannot keep
// up (CPU-starved, timing out) is not buried under exchanges.
const minSyncGap = 200 * time.Millisecond

// syncLoop runs full state exchanges (memberlist Join with one peer: both sides send their
// full LocalState) one at a time, at most one per peer per SyncGrace and one per minSyncGap.
func (c *Cluster) syncLoop() {
	last := make(map[string]time.Time)
	var prev time.Time
	for {
		select {
		case <-c.done:
			return
		case r := <-c.syncCh:
			id := r.id
			info, ok := c.nodes.get(id)
			if !ok || info.Liveness >= Dead || info.Local || time.Since(last[id]) < c.cfg.SyncGrace ||
				(r.backlog && c.dir.queued() <= backlogSync) {
				continue
			}
			if wait := minSyncGap - time.Since(prev); wait > 0 {
				select {
				case <-c.done:
					return
				case <-time.After(wait):
				}
			}
			prev = time.Now()
			ml, err := c.running()
			if err != nil {
				return
			}
			last[id] = time.Now()
			c.stats.syncs.Add(1)
			if _, err := ml.Join([]string{info.Addr}); err != nil && !errIsClosed(c.done, err) {
				c.stats.syncErrors.Add(1)
				c.log.Debug().Err(err).Str("peer", id).Msg("full state exchange failed")
			}
			for id, t := range last {
				if time.Since(t) > c.cfg.SyncGrace {
					delete(last, id)
				}
			}
		}
	}
}

// reconnectLoop re-joins failed nodes (heals partitions that outlast GossipToTheDeadTime)
// and, while this node is alone, its seeds.
func (c *Cluster) reconnectLoop() {
	tick := time.NewTicker(c.cfg.ReconnectInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case now := <-tick.C:
			c.mu.Lock()
			state, ml := c.state, c.ml
			c.mu.Unlock()
			if state != stateRunning {
				continue
			}
			addrs := c.nodes.failedAddrs(now, c.cfg.ReconnectTimeout)
			if c.nodes.members.Load() <= 1 {
				addrs = append(addrs, c.cfg.Join...)
			}
			if len(addrs) == 0 {
				continue
			}
			if n, err := ml.Join(addrs); err == nil {
				c.log.Debug().Int("reached", n).Msg("reconnected")
			}
		}
	}
}

// metaLoop re-advertises local metadata after SetLocalMeta, coalescing bursts of updates.
func (c *Cluster) metaLoop() {
	for {
		select {
		case <-c.done:
			return
		case <-c.metaWake:
			c.mu.Lock()
			state, ml := c.state, c.ml
			c.mu.Unlock()
			if state != stateRunning {
				continue
			}
			if err := c.updateNode(ml, c.cfg.TCPTimeout); err != nil && !errIsClosed(c.done, err) {
				c.log.Debug().Err(err).Msg("metadata update not confirmed")
			}
		}
	}
}

// maxStreamPending bounds the messages waiting for stream delivery.
const maxStreamPending = 1024

// streamSender delivers directory messages over reliable streams (memberlist SendReliable):
// deltas too large for a gossip packet (to every member), pull requests and pull answers (to
// one node). Messages with the same key coalesce: only the newest is sent.
type streamSender struct {
	c    *Cluster
	wake chan struct{}

	mu      sync.Mutex // guards pending and order
	pending map[string]streamItem
	order   []string
}

type streamItem struct {
	to  string // node id; "" for every member
	msg []byte
}

func newStreamSender(c *Cluster) *streamSender {
	return &streamSender{c: c, wake: make(chan struct{}, 1), pending: make(map[string]streamItem)}
}

// enqueue never blocks; beyond maxStreamPending messages it drops and counts (anti-entropy
// repairs what is lost).
func (s *streamSender) enqueue(key, to string, msg []byte) {
	s.mu.Lock()
	if _, ok := s.pending[key]; !ok {
		if len(s.order) >= maxStreamPending {
			s.mu.Unlock()
			s.c.stats.streamDropped.Add(1)
			return
		}
		s.order = append(s.order, key)
	}
	s.pending[key] = streamItem{to: to, msg: msg}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *streamSender) run() {
	for {
		select {
		case <-s.c.done:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		order, pending := s.order, s.pending
		s.order, s.pending = nil, make(map[string]streamItem)
		s.mu.Unlock()
		ml, err := s.c.running()
		if err != nil {
			return
		}
		members := ml.Members()
		for _, key := range order {
			item := pending[key]
			for _, n := range members {
				if n.Name == s.c.cfg.NodeID || (item.to != "" && n.Name != item.to) {
					continue
				}
				select {
				case <-s.c.done:
					return
				default:
				}
				if err := ml.SendReliable(n, item.msg); err != nil {
					s.c.stats.streamErrors.Add(1)
					continue
				}
				s.c.stats.streamSends.Add(1)
			}
		}
	}
}
