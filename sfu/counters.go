package sfu

import "sync/atomic"

// Counters are node-wide media-path counters. They are updated atomically on
// the per-packet path and may be read at any time from any goroutine (the
// node's Prometheus collector does). One Counters value is shared by every
// Receiver and DownTrack of a node; it must not be copied after first use.
type Counters struct {
	// PacketsIn and BytesIn count RTP packets read from publishers.
	PacketsIn, BytesIn atomic.Uint64
	// PacketsOut and BytesOut count RTP packets written to subscribers,
	// retransmissions included.
	PacketsOut, BytesOut atomic.Uint64
	// PacketsDropped counts forwarding drops: packets of a layer that is not
	// forwarded, packets while waiting for a keyframe or while paused, packets
	// before the down-track is bound, and write errors.
	PacketsDropped atomic.Uint64
	// NACKsIn counts sequence numbers NACKed by subscribers; Retransmits those
	// answered from the cache; RetransmitMisses those no longer (or never) cached.
	NACKsIn, Retransmits, RetransmitMisses atomic.Uint64
	// PLIsIn counts PLI/FIR received from subscribers; PLIsOut PLIs sent to
	// publishers; PLIsThrottled keyframe requests suppressed by the throttle.
	PLIsIn, PLIsOut, PLIsThrottled atomic.Uint64
}
