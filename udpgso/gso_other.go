//go:build !linux

package udpgso

import (
	"net"
	"net/netip"
)

// platform carries nothing outside Linux: GSO is never used there.
type platform struct {
	family int
}

// newPlatform reports GSO as unsupported: held datagrams go one by one.
func newPlatform(*net.UDPConn) (platform, bool) { return platform{}, false }

// gsoState is empty outside Linux.
type gsoState struct{}

func (g *gsoState) init()                                {}
func (g *gsoState) setAddr(netip.AddrPort, int)          {}
func (g *gsoState) usable() bool                         { return false }
func (p *platform) sendGSO(*gsoState, []byte, int) error { return errGSOUnavailable }

// gsoUnsupported treats every GSO failure as permanent outside Linux.
func gsoUnsupported(error) bool { return true }

// gsoRunRejected is never the case outside Linux.
func gsoRunRejected(error) bool { return false }
