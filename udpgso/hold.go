package udpgso

import (
	"net/netip"
	"sync"
)

const (
	// shardBits sets the number of independently locked shards of the
	// index of held addresses.
	shardBits  = 4
	shardCount = 1 << shardBits
	// freePerShard bounds the idle queues kept per shard for reuse.
	freePerShard = 8
)

// shard is one slice of the index of held addresses.
//
// A queue is in m while it is referenced: each outstanding Hold counts one
// reference, and so does each goroutine between pin and unpin. The last
// unpin removes it from m and recycles it, so m holds only addresses that are
// held or being written/flushed right now.
type shard struct {
	mu   sync.Mutex // guards m, free, and every queue's addr while it is in m
	m    map[netip.AddrPort]*queue
	free []*queue
	_    [64]byte // keep neighbouring shards' locks off one cache line
}

// Hold makes writes to addr queue until the matching Release. Holds nest:
// each Hold needs its own Release, and only the last Release sends. Safe for
// concurrent use; it never blocks on another address.
func (c *Conn) Hold(addr netip.AddrPort) {
	k := canonical(addr)
	s := c.shardFor(k)

	s.mu.Lock()
	q := s.m[k]
	if q == nil {
		q = s.take()
		q.setAddr(k, c.plat.family)
		s.m[k] = q
		c.active.Add(1)
	}
	q.refs.Add(1)
	s.mu.Unlock()

	q.mu.Lock()
	q.count++
	q.mu.Unlock()
}

// Release ends one Hold of addr. When the last hold ends, the datagrams
// queued for addr are sent, in order, before Release returns; send errors
// are counted in Stats.Errors. A Release without a matching Hold does
// nothing. Safe for concurrent use; the send happens under addr's own lock
// only.
func (c *Conn) Release(addr netip.AddrPort) {
	k := canonical(addr)
	s := c.shardFor(k)
	q := s.pin(k)
	if q == nil {
		return
	}

	q.mu.Lock()
	released := q.count > 0
	if released {
		q.count--
		if q.count == 0 {
			c.flushLocked(q)
		}
	}
	q.mu.Unlock()

	c.unpin(s, q)
	if released {
		c.unpin(s, q) // the reference taken by the matching Hold
	}
}

// shardFor picks the shard of a canonical address.
func (c *Conn) shardFor(k netip.AddrPort) *shard {
	a := k.Addr().As16()
	h := uint32(k.Port()) ^ uint32(a[15])<<8 ^ uint32(a[14])<<16 ^ uint32(a[13])<<24
	h *= 0x9E3779B1
	return &c.shards[h>>(32-shardBits)]
}

// pin returns the queue of k with one more reference, or nil if k is not
// in the index.
func (s *shard) pin(k netip.AddrPort) *queue {
	s.mu.Lock()
	q := s.m[k]
	if q != nil {
		q.refs.Add(1)
	}
	s.mu.Unlock()
	return q
}

// unpin drops one reference to q; the last one removes q from the index and
// keeps it for reuse.
func (c *Conn) unpin(s *shard, q *queue) {
	if q.refs.Add(-1) != 0 {
		return
	}
	s.mu.Lock()
	// Re-check under the lock: pin takes references only under s.mu, so a
	// zero count seen here is final. Another goroutine whose reference also
	// dropped to zero may have removed (and even reused) q already.
	if q.refs.Load() == 0 && s.m[q.addr] == q {
		delete(s.m, q.addr)
		c.active.Add(-1)
		if len(s.free) < freePerShard {
			s.free = append(s.free, q)
		}
	}
	s.mu.Unlock()
}

// take returns an idle queue, reusing a recycled one when there is one.
// Called with s.mu held.
func (s *shard) take() *queue {
	if n := len(s.free); n > 0 {
		q := s.free[n-1]
		s.free[n-1] = nil
		s.free = s.free[:n-1]
		return q
	}
	return newQueue()
}
