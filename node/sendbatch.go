package node

import (
	"net/netip"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/edgemesh/edge/udpgso"
)

// sendHolder is the node's ICE/UDP socket as the fan-out's send batching needs it
// (udpgso.Conn): writes to a held address are queued until it is released, then sent together.
type sendHolder interface {
	Hold(addr netip.AddrPort)
	Release(addr netip.AddrPort)
}

// pcSendBatch implements sfu.SendBatcher for one peer connection: it holds the node socket's
// sends to the connection's selected remote address while a burst is fanned out, so the burst
// leaves in one UDP GSO send. Connections over ICE/TCP (or before a pair is selected) hold
// nothing.
type pcSendBatch struct {
	conn sendHolder
	addr atomic.Pointer[netip.AddrPort] // the selected pair's remote address; nil: none over UDP
}

// newPCSendBatch returns a batcher that holds nothing until the transport's selected pair is
// known (followPair).
func newPCSendBatch(conn sendHolder) *pcSendBatch {
	return &pcSendBatch{conn: conn}
}

// udpRemote is the remote address of pair p if it runs over UDP, else nil.
func udpRemote(p *webrtc.ICECandidatePair) *netip.AddrPort {
	if p == nil || p.Local == nil || p.Remote == nil || p.Local.Protocol != webrtc.ICEProtocolUDP {
		return nil
	}
	ip, err := netip.ParseAddr(p.Remote.Address)
	if err != nil || p.Remote.Port == 0 {
		return nil // e.g. an unresolved mDNS name
	}
	a := netip.AddrPortFrom(ip.Unmap(), p.Remote.Port)
	return &a
}

// Hold implements sfu.SendBatcher.
func (b *pcSendBatch) Hold() netip.AddrPort {
	a := b.addr.Load()
	if a == nil {
		return netip.AddrPort{}
	}
	b.conn.Hold(*a)
	return *a
}

// Release implements sfu.SendBatcher.
func (b *pcSendBatch) Release(a netip.AddrPort) {
	if a.IsValid() {
		b.conn.Release(a)
	}
}

// udpBatch returns the node's batching ICE/UDP socket, or nil. n.rtc is set by Start before
// the HTTP server (which serves the metrics) starts.
func (n *Node) udpBatch() *udpgso.Conn {
	if n.rtc == nil {
		return nil
	}
	return n.rtc.gso
}
