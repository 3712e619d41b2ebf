package udpgso

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

const (
	// maxSegments is the most datagrams one GSO sendmsg carries. The kernel
	// rejects more than UDP_MAX_SEGMENTS (64 from 4.18 through 6.x, raised to
	// 128 later); 64 works everywhere.
	maxSegments = 64
	// maxBatchBytes is the most payload one GSO sendmsg carries: the whole
	// buffer must fit in one IP datagram (65535 bytes less the IPv4 and UDP
	// headers is 65507), with margin.
	maxBatchBytes = 65000
	// initialQueueBytes is the first capacity of a queue's buffer; it grows
	// up to about maxBatchBytes and is then reused.
	initialQueueBytes = 8 << 10
)

// queue holds the datagrams queued for one held address.
type queue struct {
	// refs counts Holds not yet released plus goroutines between pin and
	// unpin. It is incremented only under the shard lock.
	refs atomic.Int32
	// addr is the canonical address; written under the shard lock while the
	// queue is not in the index.
	addr netip.AddrPort

	mu    sync.Mutex // guards count, buf, lens, and gso; held across this address's flush
	count int        // outstanding Holds
	buf   []byte     // queued datagrams, back to back
	lens  []int      // length of each queued datagram, in order
	gso   gsoState   // platform sendmsg scratch (destination sockaddr, cmsg)
}

func newQueue() *queue {
	q := &queue{
		buf:  make([]byte, 0, initialQueueBytes),
		lens: make([]int, 0, maxSegments),
	}
	q.gso.init()
	return q
}

// setAddr assigns the queue to k. Called under the shard lock while the
// queue is not in the index.
func (q *queue) setAddr(k netip.AddrPort, family int) {
	q.addr = k
	q.gso.setAddr(k, family)
}

// fits reports whether a datagram of n bytes can join the queue without the
// queue exceeding what one GSO sendmsg may carry.
func (q *queue) fits(n int) bool {
	return len(q.lens) < maxSegments && len(q.buf)+n <= maxBatchBytes
}

// push copies b to the end of the queue.
func (q *queue) push(b []byte) {
	q.buf = append(q.buf, b...)
	q.lens = append(q.lens, len(b))
}

// nextRun returns how many datagrams from the front of lens one GSO sendmsg
// can carry, and their total size: all but the last have the size of the
// first, the last may be shorter, at most maxSegments datagrams and
// maxBatchBytes bytes. A run of one datagram is always possible (an empty or
// oversized datagram forms a run of its own).
func nextRun(lens []int) (n, size int) {
	if len(lens) == 0 {
		return 0, 0
	}
	seg := lens[0]
	n, size = 1, seg
	if seg == 0 {
		return n, size
	}
	for n < len(lens) && n < maxSegments {
		l := lens[n]
		if l > seg || l == 0 || size+l > maxBatchBytes {
			break
		}
		n++
		size += l
		if l < seg {
			break // a shorter segment ends the run
		}
	}
	return n, size
}

// flushLocked sends everything queued for q, in order, and empties the
// queue. Called with q.mu held.
func (c *Conn) flushLocked(q *queue) {
	off := 0
	for i := 0; i < len(q.lens); {
		n, size := nextRun(q.lens[i:])
		run := q.buf[off : off+size]
		if n == 1 || c.gsoOff.Load() || !q.gso.usable() {
			c.sendEach(q, run, q.lens[i:i+n])
		} else {
			c.sendRun(q, run, q.lens[i:i+n])
		}
		i += n
		off += size
	}
	q.buf = q.buf[:0]
	q.lens = q.lens[:0]
}

// sendRun sends a run of datagrams with one GSO sendmsg, falling back to
// single sends if the kernel or the egress path cannot segment it.
func (c *Conn) sendRun(q *queue, run []byte, lens []int) {
	c.stats.syscalls.Add(1)
	err := c.plat.sendGSO(&q.gso, run, lens[0])
	switch {
	case err == nil:
		c.stats.gsoSends.Add(1)
	case gsoUnsupported(err):
		c.gsoOff.Store(true)
		c.sendEach(q, run, lens)
	case gsoRunRejected(err):
		c.sendEach(q, run, lens)
	default:
		c.stats.errors.Add(uint64(len(lens)))
	}
}

// sendEach sends a run of datagrams one send each.
func (c *Conn) sendEach(q *queue, run []byte, lens []int) {
	off := 0
	for _, l := range lens {
		c.stats.syscalls.Add(1)
		if _, err := c.conn.WriteToUDPAddrPort(run[off:off+l], q.addr); err != nil {
			c.stats.errors.Add(1)
		}
		off += l
	}
}
