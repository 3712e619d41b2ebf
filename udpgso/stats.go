package udpgso

import "sync/atomic"

// Stats is a snapshot of a Conn's counters.
type Stats struct {
	Datagrams uint64 // datagrams written through the conn (held or not)
	Held      uint64 // of those, queued by a hold
	Syscalls  uint64 // send syscalls made for held datagrams (sendmsg with GSO or single sends)
	GSOSends  uint64 // sendmsg calls that carried more than one segment
	Errors    uint64 // held datagrams whose flush failed (their error cannot be returned to the writer)
}

// counters are the live atomic counters behind Stats.
type counters struct {
	datagrams atomic.Uint64
	held      atomic.Uint64
	syscalls  atomic.Uint64
	gsoSends  atomic.Uint64
	errors    atomic.Uint64
}

// Stats returns a snapshot of the counters. Each field is read atomically;
// the fields are not read together atomically. Safe for concurrent use.
func (c *Conn) Stats() Stats {
	return Stats{
		Datagrams: c.stats.datagrams.Load(),
		Held:      c.stats.held.Load(),
		Syscalls:  c.stats.syscalls.Load(),
		GSOSends:  c.stats.gsoSends.Load(),
		Errors:    c.stats.errors.Load(),
	}
}
