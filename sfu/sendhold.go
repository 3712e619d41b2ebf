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

// Burst forwarding (Receiver.rtpLoop): the first packet of a multi-packet
// video frame starts a burst, forwarded with the sends of the down-tracks
// held, and the frame's last packet (the marker bit) ends it.
const (
	// burstMinSinks is the fewest holding sinks for which a burst is
	// gathered; below it the saving does not pay for the hold.
	burstMinSinks = 4
	// burstMaxPackets and burstMaxHold bound a burst, and so how long the
	// first packet's sends are held, when a frame's last packet is lost or
	// late.
	burstMaxPackets = 32
	burstMaxHold    = 5 * time.Millisecond
)

// holdSends holds the sends of every sink in sinks that can hold them,
// writing the key of each hold (zero where none) into keys, which it returns
// resized to len(sinks); held is how many holds were taken.
func holdSends(sinks []PacketSink, keys []netip.AddrPort) (_ []netip.AddrPort, held int) {
	keys = keys[:0]
	for _, k := range sinks {
		var key netip.AddrPort
		if h, ok := k.(sendHolder); ok {
			key = h.holdSends()
		}
		if key.IsValid() {
			held++
		}
		keys = append(keys, key)
	}
	return keys, held
}

// releaseSends ends the holds holdSends took on sinks.
func releaseSends(sinks []PacketSink, keys []netip.AddrPort) {
	for i, key := range keys {
		if key.IsValid() {
			sinks[i].(sendHolder).releaseSends(key)
		}
	}
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
