package egress

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// Feedback is what a Path's incoming transport-wide feedback and REMB go to: the connection's
// bandwidth estimator (*bwe.Estimator). Transport-wide feedback arrives as the bytes of one
// RTCP packet, unparsed.
type Feedback interface {
	OnTransportCCRaw(pkt []byte, now time.Time) error
	OnREMB(bps float64, now time.Time)
}

// RTCPHandler acts on one compound RTCP packet from the subscriber (a down-track's). It must
// not keep pkts.
type RTCPHandler func(pkts []rtcp.Packet, now time.Time)

// Inbound takes the SRTCP that subscribers send to the node out of the node's UDP socket
// before pion's ICE, DTLS and SRTP layers (and their goroutine hand-offs) see it: a
// datagram that looks like RTCP from the remote address of an intercepting direct Path is
// decrypted, parsed and handed to that Path's streams and estimator on the reading
// goroutine. Everything else (STUN, DTLS, RTP, RTCP of other connections) reads through
// unchanged. Safe for concurrent use.
type Inbound struct {
	mu     sync.RWMutex
	byAddr map[netip.AddrPort]*Path
}

// NewInbound returns an empty Inbound.
func NewInbound() *Inbound { return &Inbound{byAddr: make(map[netip.AddrPort]*Path)} }

// set moves p from address old to address cur (either may be nil).
func (in *Inbound) set(p *Path, old, cur *netip.AddrPort) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if old != nil && in.byAddr[*old] == p {
		delete(in.byAddr, *old)
	}
	if cur != nil {
		in.byAddr[*cur] = p
	}
}

// Len returns the number of addresses intercepted.
func (in *Inbound) Len() int {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return len(in.byAddr)
}

// isRTCP reports whether b looks like an RTCP (SRTCP) packet: RTP version 2 and a packet type
// in 192..223, the range RFC 5761 section 4 sets apart from RTP payload types.
func isRTCP(b []byte) bool {
	return len(b) >= 8 && b[0]&0xc0 == 0x80 && b[1] >= 192 && b[1] <= 223
}

// consume handles b if it is SRTCP for an intercepting Path and reports whether it did.
func (in *Inbound) consume(b []byte, from netip.AddrPort) bool {
	if !isRTCP(b) {
		return false
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	in.mu.RLock()
	p := in.byAddr[from]
	in.mu.RUnlock()
	if p == nil {
		return false
	}
	return p.handleRTCP(b)
}

// addrPortConn is a packet conn with the allocation-free address forms (udpgso.Conn).
type addrPortConn interface {
	net.PacketConn
	ReadFromAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// Conn wraps the node's UDP socket for pion's UDP mux: reads skip the datagrams Inbound
// consumes; writes pass through.
func (in *Inbound) Conn(c net.PacketConn) net.PacketConn {
	f := &filterConn{PacketConn: c, in: in}
	switch u := c.(type) {
	case addrPortConn:
		f.read, f.write = u.ReadFromAddrPort, u.WriteToAddrPort
	case *net.UDPConn:
		f.read, f.write = u.ReadFromUDPAddrPort, u.WriteToUDPAddrPort
	default:
		f.read = func(b []byte) (int, netip.AddrPort, error) {
			n, a, err := c.ReadFrom(b)
			if err != nil {
				return n, netip.AddrPort{}, err
			}
			ua, _ := a.(*net.UDPAddr)
			if ua == nil {
				return n, netip.AddrPort{}, nil
			}
			return n, ua.AddrPort(), nil
		}
		f.write = func(b []byte, a netip.AddrPort) (int, error) {
			return c.WriteTo(b, net.UDPAddrFromAddrPort(a))
		}
	}
	return f
}

type filterConn struct {
	net.PacketConn
	in    *Inbound
	read  func([]byte) (int, netip.AddrPort, error)
	write func([]byte, netip.AddrPort) (int, error)
}

// ReadFromAddrPort returns the next datagram Inbound does not consume.
func (f *filterConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, a, err := f.read(b)
		if err != nil || !f.in.consume(b[:n], a) {
			return n, a, err
		}
	}
}

// ReadFrom is ReadFromAddrPort with a net.Addr.
func (f *filterConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := f.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(a), nil
}

// WriteToAddrPort writes to the socket.
func (f *filterConn) WriteToAddrPort(b []byte, a netip.AddrPort) (int, error) { return f.write(b, a) }
