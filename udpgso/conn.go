package udpgso

import (
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// Options configures a Conn. The zero value uses GSO where the kernel has it.
type Options struct {
	// DisableGSO sends held datagrams one by one (A/B measurements, kernels
	// without GSO). They are still queued while held and sent in order at
	// Release.
	DisableGSO bool
}

// Conn wraps a *net.UDPConn. It implements net.PacketConn and pion ice's
// AddrPortReaderWriter (ReadFromAddrPort(b []byte) (int, netip.AddrPort, error);
// WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error)) so that
// ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn}) uses its
// allocation-free path.
//
// All methods are safe for concurrent use by many goroutines. Writes to an
// address held with Hold, from any goroutine, are queued until the matching
// Release and then sent in the order they were queued. Per-address state is
// guarded by a per-address mutex; the index of held addresses is sharded, and
// no lock is held across another address's send.
type Conn struct {
	conn *net.UDPConn
	plat platform

	// gsoOff is set when GSO is disabled by Options, unsupported by the
	// kernel, or switched off after a send failed with a GSO error.
	gsoOff atomic.Bool
	// active counts addresses present in the shard maps; zero means no
	// address is held or being flushed, and writes take the fast path.
	active atomic.Int64
	stats  counters
	shards [shardCount]shard
}

// New wraps c, which must not be nil. The conn takes over c: Close closes it.
// The socket family is determined once here, and GSO support is probed.
func New(c *net.UDPConn, o Options) *Conn {
	conn := &Conn{conn: c}
	plat, gsoOK := newPlatform(c)
	conn.plat = plat
	if o.DisableGSO || !gsoOK {
		conn.gsoOff.Store(true)
	}
	for i := range conn.shards {
		conn.shards[i].m = make(map[netip.AddrPort]*queue)
	}
	return conn
}

// WriteToAddrPort sends b to addr, or, when addr is held, copies b into addr's
// queue and returns (len(b), nil); the queued datagram is sent at the
// matching Release, and a failure then is only counted in Stats.Errors.
func (c *Conn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	c.stats.datagrams.Add(1)
	if c.active.Load() == 0 {
		return c.conn.WriteToUDPAddrPort(b, addr)
	}
	return c.writeSlow(b, addr)
}

// WriteTo implements net.PacketConn. A *net.UDPAddr destination goes through
// the same hold logic as WriteToAddrPort; other address types pass through.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); ok {
		return c.WriteToAddrPort(b, ua.AddrPort())
	}
	c.stats.datagrams.Add(1)
	return c.conn.WriteTo(b, addr)
}

// ReadFromAddrPort reads one datagram; it passes through to the socket.
func (c *Conn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.conn.ReadFromUDPAddrPort(b)
}

// ReadFrom implements net.PacketConn; it passes through to the socket.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	return c.conn.ReadFrom(b)
}

// Close closes the socket. Datagrams still queued for held addresses fail at
// their Release and are counted in Stats.Errors.
func (c *Conn) Close() error { return c.conn.Close() }

// LocalAddr returns the socket's local address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// SetDeadline sets the socket's read and write deadlines. The write deadline
// also bounds the sends made at Release.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the socket's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the socket's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// writeSlow is the write path taken while some address is held.
func (c *Conn) writeSlow(b []byte, addr netip.AddrPort) (int, error) {
	k := canonical(addr)
	s := c.shardFor(k)
	q := s.pin(k)
	if q == nil {
		return c.conn.WriteToUDPAddrPort(b, addr)
	}
	defer c.unpin(s, q)

	q.mu.Lock()
	defer q.mu.Unlock()
	if q.count == 0 {
		// Released and flushed while we waited for the lock; sending now,
		// under the lock, keeps this datagram after the flushed ones.
		return c.conn.WriteToUDPAddrPort(b, addr)
	}
	if len(b) > maxBatchBytes {
		// Too large to queue: send what is queued, then this, in order.
		c.flushLocked(q)
		return c.conn.WriteToUDPAddrPort(b, addr)
	}
	if !q.fits(len(b)) {
		c.flushLocked(q)
	}
	q.push(b)
	c.stats.held.Add(1)
	return len(b), nil
}

// canonical returns the key under which addr is held: IPv4-mapped IPv6
// addresses are unmapped so that both spellings of one peer match.
func canonical(addr netip.AddrPort) netip.AddrPort {
	if a := addr.Addr(); a.Is4In6() {
		return netip.AddrPortFrom(a.Unmap(), addr.Port())
	}
	return addr
}
