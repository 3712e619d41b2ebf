package relay

import (
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/edgemesh/edge/sfu"
)

// Traffic is a byte count split by kind and simulcast layer. Media bytes are
// whole relay datagrams (header and RTP packet, retransmissions included);
// data bytes are data-message frames.
type Traffic struct {
	Audio uint64
	Video [sfu.NumLayers]uint64
	Data  uint64
}

// Total returns the sum over kinds and layers.
func (t Traffic) Total() uint64 {
	n := t.Audio + t.Data
	for _, v := range t.Video {
		n += v
	}
	return n
}

// PeerStats is a snapshot of the counters of the links with one peer, over
// every link to it since the Endpoint started.
type PeerStats struct {
	NodeID    string
	Connected bool          // a link to the peer is up
	RTT       time.Duration // latest round trip from ping/pong; 0 before the first pong
	Sent      Traffic
	Received  Traffic
	// Subscriptions is how many tracks this node receives from the peer now;
	// Served how many of this node's tracks the peer receives.
	Subscriptions, Served int
	// LostPackets counts relayed packets that never arrived: NACKed without
	// being recovered in time, or gaps too large to NACK.
	LostPackets uint64
	// NACKsSent counts sequence numbers this node NACKed upstream;
	// NACKsReceived those the peer NACKed; Retransmits those answered from
	// the source's cache; RetransmitMisses those no longer cached.
	NACKsSent, NACKsReceived, Retransmits, RetransmitMisses uint64
	// KeyframeRequests counts keyframe requests sent to the peer.
	KeyframeRequests uint64
	// QueueDrops counts media packets dropped because the link's send queue
	// was full.
	QueueDrops uint64
	// Oversize counts media packets sent on the oversize stream because they
	// did not fit in a datagram.
	Oversize uint64
	// UnknownSlot counts media packets for a slot this node has no
	// subscription on (in flight across an unsubscribe).
	UnknownSlot uint64
	// Malformed counts protocol violations by the peer (each closes a link).
	Malformed uint64
	// Links counts links established with the peer; Redials the dials made
	// to restore subscriptions after a link died.
	Links, Redials uint64
}

// Stats is a snapshot of an Endpoint's counters.
type Stats struct {
	NodeID string
	Peers  []PeerStats // sorted by node id
	// AuthFailures counts handshakes refused because the peer's
	// certificate does not chain to the cluster CA or names the wrong node.
	AuthFailures uint64
	// HandshakeFailures counts connections that failed before their hello
	// exchange completed (authentication failures of dials included).
	HandshakeFailures uint64
}

// kindIndex indexes traffic counters: audio, video layers, data.
type kindIndex uint8

const (
	kindAudio kindIndex = iota
	kindVideo0
	kindVideo1
	kindVideo2
	kindData
	numKinds
)

// mediaKind returns the counter index of a media packet.
func mediaKind(kind webrtc.RTPCodecType, layer int32) kindIndex {
	if kind == webrtc.RTPCodecTypeAudio {
		return kindAudio
	}
	return kindVideo0 + kindIndex(layer)
}

// trafficCounters are atomic byte counters by kind index.
type trafficCounters [numKinds]atomic.Uint64

func (t *trafficCounters) snapshot() Traffic {
	return Traffic{
		Audio: t[kindAudio].Load(),
		Video: [sfu.NumLayers]uint64{t[kindVideo0].Load(), t[kindVideo1].Load(), t[kindVideo2].Load()},
		Data:  t[kindData].Load(),
	}
}

// peerCounters are the counters of one peer, shared by its successive links
// and updated atomically on the per-packet paths.
type peerCounters struct {
	sent, received                                   trafficCounters
	rtt                                              atomic.Int64 // ns
	lost                                             atomic.Uint64
	nacksSent, nacksReceived, retransmits, rtxMisses atomic.Uint64
	keyframeRequests                                 atomic.Uint64
	queueDrops, oversize, unknownSlot, malformed     atomic.Uint64
	links, redials                                   atomic.Uint64
}

func (c *peerCounters) fill(st *PeerStats) {
	st.Sent = c.sent.snapshot()
	st.Received = c.received.snapshot()
	st.RTT = time.Duration(c.rtt.Load())
	st.LostPackets = c.lost.Load()
	st.NACKsSent = c.nacksSent.Load()
	st.NACKsReceived = c.nacksReceived.Load()
	st.Retransmits = c.retransmits.Load()
	st.RetransmitMisses = c.rtxMisses.Load()
	st.KeyframeRequests = c.keyframeRequests.Load()
	st.QueueDrops = c.queueDrops.Load()
	st.Oversize = c.oversize.Load()
	st.UnknownSlot = c.unknownSlot.Load()
	st.Malformed = c.malformed.Load()
	st.Links = c.links.Load()
	st.Redials = c.redials.Load()
}
