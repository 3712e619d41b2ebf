//go:build linux

package udpgso

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// platform is the Linux view of the socket: its raw conn for sendmsg and its
// address family, determined once at New.
type platform struct {
	raw    syscall.RawConn
	family int // unix.AF_INET or unix.AF_INET6; 0 if unknown (no GSO)
}

// newPlatform inspects c's socket: its family (getsockname) and whether the
// kernel accepts UDP_SEGMENT (getsockopt fails with ENOPROTOOPT before 4.18).
func newPlatform(c *net.UDPConn) (platform, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return platform{}, false
	}
	p := platform{raw: raw}
	gsoOK := false
	ctrlErr := raw.Control(func(fd uintptr) {
		sa, err := unix.Getsockname(int(fd))
		if err != nil {
			return
		}
		switch sa.(type) {
		case *unix.SockaddrInet4:
			p.family = unix.AF_INET
		case *unix.SockaddrInet6:
			p.family = unix.AF_INET6
		default:
			return
		}
		_, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		gsoOK = err == nil
	})
	if ctrlErr != nil || p.family == 0 {
		return p, false
	}
	return p, gsoOK
}

// gsoState is a queue's sendmsg scratch: the destination in the socket's
// family, the UDP_SEGMENT control message, and the arguments and result of
// the raw write callback, which is bound once so a send allocates nothing.
// Guarded by the queue's mutex.
type gsoState struct {
	sa4     unix.SockaddrInet4
	sa6     unix.SockaddrInet6
	sa      unix.Sockaddr // &sa4, &sa6, or nil when the family cannot reach the address
	oob     []byte
	payload []byte
	err     error
	write   func(fd uintptr) bool
}

func (g *gsoState) init() {
	g.oob = make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&g.oob[0]))
	h.Level = unix.IPPROTO_UDP // SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	g.write = g.sendmsg
}

// setAddr prepares the destination sockaddr for a socket of the given
// family: AF_INET takes the (unmapped) IPv4 address, AF_INET6 takes IPv6
// addresses and IPv4 ones as 4-in-6 mapped addresses.
func (g *gsoState) setAddr(k netip.AddrPort, family int) {
	g.sa = nil
	a := k.Addr()
	switch {
	case family == unix.AF_INET && a.Unmap().Is4():
		g.sa4 = unix.SockaddrInet4{Port: int(k.Port()), Addr: a.Unmap().As4()}
		g.sa = &g.sa4
	case family == unix.AF_INET6 && a.IsValid():
		g.sa6 = unix.SockaddrInet6{Port: int(k.Port()), Addr: a.As16(), ZoneId: zoneID(a.Zone())}
		g.sa = &g.sa6
	}
}

// usable reports whether GSO sends can reach the address set by setAddr
// (an IPv6 destination is unreachable from an AF_INET socket; single sends
// then report the error).
func (g *gsoState) usable() bool { return g.sa != nil }

// zoneID resolves an IPv6 zone (interface name or index) to an index.
func zoneID(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n)
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}

// sendGSO sends run as segments of seg bytes (the last may be shorter) in
// one sendmsg to the address set by setAddr, which must be usable. It waits
// for writability on EAGAIN as the net package does and honours the
// socket's write deadline.
func (p *platform) sendGSO(g *gsoState, run []byte, seg int) error {
	// The uint16 segment size follows the cmsg header.
	binary.NativeEndian.PutUint16(g.oob[unix.CmsgLen(0):], uint16(seg))
	g.payload, g.err = run, nil
	err := p.raw.Write(g.write)
	g.payload = nil
	if err != nil {
		return err
	}
	return g.err
}

// sendmsg is the raw write callback; false asks the poller to wait until the
// socket is writable and call again.
func (g *gsoState) sendmsg(fd uintptr) bool {
	for {
		_, err := unix.SendmsgN(int(fd), g.payload, g.oob, g.sa, 0)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return false
		}
		g.err = err
		return true
	}
}

// gsoUnsupported reports whether a GSO sendmsg failed because the kernel or
// the egress path cannot segment: EIO (udp_send_skb: the device has no
// checksum offload, or the route uses xfrm), EINVAL (older kernels also use
// it for a segment larger than the path MTU), ENOPROTOOPT and EOPNOTSUPP
// (no UDP_SEGMENT support).
func gsoUnsupported(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) ||
		errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.EOPNOTSUPP)
}

// gsoRunRejected reports whether only this run cannot go as one GSO send,
// while single sends may still carry it: EMSGSIZE is what recent kernels
// return when a segment exceeds the path MTU (single sends fragment).
func gsoRunRejected(err error) bool {
	return errors.Is(err, unix.EMSGSIZE)
}
