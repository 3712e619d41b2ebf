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
			if c.dir.queued() > backlogSync {
				if id, ok := c.nodes.randomMember(); ok {
					c.requestSync(id)
				}
			}
		}
	}
}

// backlogSync is the broadcast backlog (queued deltas) beyond which gossip packets cannot keep
// up (a burst of writes, a large join): the node then also runs a full state exchange with a
// random member every ProbeInterval, which moves the bulk over one TCP stream instead.
const backlogSync = 256

// requestSync asks syncLoop for a full state exchange with node id. Never blocks: if the queue
// is full the request is dropped (the next digest mismatch asks again).
func (c *Cluster) requestSync(id string) {
	select {
	case c.syncCh <- id:
	default:
		c.stats.syncErrors.Add(1)
	}
}

// syncLoop runs full state exchanges (memberlist Join with one peer: both sides send their
// full LocalState), at most one per peer per SyncGrace.
func (c *Cluster) syncLoop() {
	last := make(map[string]time.Time)
	for {
		select {
		case <-c.done:
			return
		case id := <-c.syncCh:
			info, ok := c.nodes.get(id)
			if !ok || info.Liveness >= Dead || info.Local || time.Since(last[id]) < c.cfg.SyncGrace {
				continue
			}
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
			if err := ml.UpdateNode(c.cfg.TCPTimeout); err != nil && !errIsClosed(c.done, err) {
				c.log.Debug().Err(err).Msg("metadata update not confirmed")
			}
		}
	}
}

// maxLargePending bounds the deltas waiting for stream fan-out.
const maxLargePending = 1024

// largeSender fans deltas too large for a gossip packet out to every member over reliable
// streams (memberlist SendReliable). Deltas for the same entry coalesce: only the newest is sent.
type largeSender struct {
	c    *Cluster
	wake chan struct{}

	mu      sync.Mutex // guards pending and order
	pending map[string][]byte
	order   []string
}

func newLargeSender(c *Cluster) *largeSender {
	return &largeSender{c: c, wake: make(chan struct{}, 1), pending: make(map[string][]byte)}
}

// enqueue never blocks; beyond maxLargePending entries the delta is dropped and counted
// (anti-entropy repairs it).
func (s *largeSender) enqueue(name string, msg []byte) {
	s.mu.Lock()
	if _, ok := s.pending[name]; !ok {
		if len(s.order) >= maxLargePending {
			s.mu.Unlock()
			s.c.stats.largeDropped.Add(1)
			return
		}
		s.order = append(s.order, name)
	}
	s.pending[name] = msg
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *largeSender) run() {
	for {
		select {
		case <-s.c.done:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		order, pending := s.order, s.pending
		s.order, s.pending = nil, make(map[string][]byte)
		s.mu.Unlock()
		ml, err := s.c.running()
		if err != nil {
			return
		}
		for _, name := range order {
			for _, n := range ml.Members() {
				if n.Name == s.c.cfg.NodeID {
					continue
				}
				select {
				case <-s.c.done:
					return
				default:
				}
				if err := ml.SendReliable(n, pending[name]); err != nil {
					s.c.stats.streamErrors.Add(1)
					continue
				}
				s.c.stats.streamSends.Add(1)
			}
		}
	}
}
