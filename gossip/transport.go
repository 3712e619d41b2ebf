package gossip

import (
	"fmt"
	"log"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// countingTransport wraps the memberlist transport to count gossip bytes, packets and streams.
// Inbound packets and streams are forwarded from the inner transport's channels by two
// goroutines that stop after the inner transport has shut down.
type countingTransport struct {
	inner    memberlist.NodeAwareTransport
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once

	bytesSent, bytesRecv     atomic.Uint64
	packetsSent, packetsRecv atomic.Uint64
	streamsOut, streamsIn    atomic.Uint64
}

var _ memberlist.NodeAwareTransport = (*countingTransport)(nil)

// shim adapts a plain Transport (memberlist does the same internally).
type shim struct{ memberlist.Transport }

func (s shim) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return s.WriteTo(b, a.Addr)
}
func (s shim) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return s.DialTimeout(a.Addr, timeout)
}

func newCountingTransport(inner memberlist.Transport) *countingTransport {
	na, ok := inner.(memberlist.NodeAwareTransport)
	if !ok {
		na = shim{inner}
	}
	t := &countingTransport{
		inner:    na,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		done:     make(chan struct{}),
	}
	t.wg.Add(2)
	go t.forwardPackets()
	go t.forwardStreams()
	return t
}

// newNetTransport binds memberlist's UDP/TCP transport, retrying ephemeral-port collisions
// (UDP and TCP must get the same port) like memberlist does.
func newNetTransport(addr string, port int, logger *log.Logger) (*memberlist.NetTransport, error) {
	attempts := 1
	if port == 0 {
		attempts = 10
	}
	var err error
	for range attempts {
		var nt *memberlist.NetTransport
		nt, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{addr}, BindPort: port, Logger: logger,
		})
		if err == nil {
			return nt, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("gossip: bind %s:%d: %w", addr, port, err)
}

func (t *countingTransport) forwardPackets() {
	defer t.wg.Done()
	for {
		select {
		case p := <-t.inner.PacketCh():
			t.packetsRecv.Add(1)
			t.bytesRecv.Add(uint64(len(p.Buf)))
			select {
			case t.packetCh <- p:
			case <-t.done:
				return
			}
		case <-t.done:
			return
		}
	}
}

func (t *countingTransport) forwardStreams() {
	defer t.wg.Done()
	for {
		select {
		case c := <-t.inner.StreamCh():
			t.streamsIn.Add(1)
			select {
			case t.streamCh <- &countingConn{Conn: c, t: t}:
			case <-t.done:
				_ = c.Close()
				return
			}
		case <-t.done:
			return
		}
	}
}

func (t *countingTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

func (t *countingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	t.countOut(len(b))
	return t.inner.WriteTo(b, addr)
}

func (t *countingTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	t.countOut(len(b))
	return t.inner.WriteToAddress(b, a)
}

func (t *countingTransport) countOut(n int) {
	t.packetsSent.Add(1)
	t.bytesSent.Add(uint64(n))
}

func (t *countingTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }
func (t *countingTransport) StreamCh() <-chan net.Conn           { return t.streamCh }

func (t *countingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *countingTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c, err := t.inner.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	t.streamsOut.Add(1)
	return &countingConn{Conn: c, t: t}, nil
}

// Shutdown shuts the inner transport down (its listeners may still be handing packets over,
// so forwarding continues until it returns), then stops forwarding.
func (t *countingTransport) Shutdown() error {
	err := t.inner.Shutdown()
	t.once.Do(func() { close(t.done) })
	t.wg.Wait()
	return err
}

// countingConn counts a stream's bytes into its transport.
type countingConn struct {
	net.Conn
	t *countingTransport
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.t.bytesRecv.Add(uint64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.t.bytesSent.Add(uint64(n))
	return n, err
}

func (t *countingTransport) fill(s *Stats) {
	s.BytesSent = t.bytesSent.Load()
	s.BytesReceived = t.bytesRecv.Load()
	s.PacketsSent = t.packetsSent.Load()
	s.PacketsReceived = t.packetsRecv.Load()
	s.StreamsOpened = t.streamsOut.Load()
	s.StreamsAccepted = t.streamsIn.Load()
}
