package sfu

import (
	"net/netip"
	"time"
)

// SendBatcher lets the fan-out hold a subscriber's outgoing packets while it
// forwards a burst (the packets of a video frame, which arrive back to back),
// so that the transport sends them to the subscriber together: with UDP
// segmentation offload, one system call and one pass through the kernel for
// the burst instead of one per packet. The node implements it per subscriber
// connection; it is optional (DownTrackParams.Batcher).
type SendBatcher interface {
	// Hold holds the sends to the subscriber's current address and returns
	// it, or the zero AddrPort if nothing is held (no UDP path yet). It is
	// safe for concurrent use: holds nest.
	Hold() netip.AddrPort
	// Release ends a hold that Hold returned (a no-op for the zero AddrPort);
	// the last release sends what was held.
	Release(netip.AddrPort)
}

// sendHolder is a PacketSink whose sends can be held (a DownTrack with a
// SendBatcher).
type sendHolder interface {
	holdSends() netip.AddrPort
	releaseSends(netip.AddrPort)
}

// Burst forwarding (Receiver.rtpLoop, and relay.RemoteTrack for relayed
// tracks): the first packet of a multi-packet video frame starts a burst,
// forwarded with the sends of the down-tracks held, and the frame's last
// packet (the marker bit) ends it.
const (
	// BurstMinSinks is the fewest holding sinks for which a burst is
	// gathered; below it the saving does not pay for the hold.
	BurstMinSinks = 4
	// burstMaxPackets and BurstMaxHold bound a burst, and so how long the
	// first packet's sends are held, when a frame's last packet is lost or
	// late.
	burstMaxPackets = 32
	BurstMaxHold    = 5 * time.Millisecond
)

// SendHold is a hold on the sends of a SinkSet's sinks for one burst: Take
// holds every sink that can hold its sends (a DownTrack with a SendBatcher),
// Release ends those holds. A source takes one per burst and reuses it. Not
// safe for concurrent use.
type SendHold struct {
	sinks []PacketSink
	keys  []netip.AddrPort
	held  int
}

// Take holds the sends of s's current sinks and returns how many it holds.
// A hold still taken is released first.
func (h *SendHold) Take(s *SinkSet) int {
	h.Release()
	h.sinks = s.Sinks()
	h.keys = h.keys[:0]
	for _, k := range h.sinks {
		var key netip.AddrPort
		if hs, ok := k.(sendHolder); ok {
			key = hs.holdSends()
		}
		if key.IsValid() {
			h.held++
		}
		h.keys = append(h.keys, key)
	}
	return h.held
}

// Held reports whether the hold is taken (and holds at least one sink).
func (h *SendHold) Held() bool { return h.held > 0 }

// Release ends the holds Take took; the sinks' held sends go out. A no-op if
// none are taken.
func (h *SendHold) Release() {
	for i, key := range h.keys {
		if key.IsValid() {
			h.sinks[i].(sendHolder).releaseSends(key)
		}
	}
	h.sinks, h.keys, h.held = nil, h.keys[:0], 0
}

// holdSends holds the subscriber's sends, if the down-track has a batcher and
// is bound (sendHolder).
func (d *DownTrack) holdSends() netip.AddrPort {
	if d.batcher == nil || d.bound.Load() == nil || d.closed.Load() {
		return netip.AddrPort{}
	}
	return d.batcher.Hold()
}

// releaseSends ends a hold of holdSends (sendHolder).
func (d *DownTrack) releaseSends(key netip.AddrPort) {
	if d.batcher != nil {
		d.batcher.Release(key)
	}
}
