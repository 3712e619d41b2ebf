package buffer

import (
	"math"
	"time"
)

// Stats are the receive statistics of one Buffer.
type Stats struct {
	// PacketsReceived counts distinct packets accepted by Push, padding-only
	// ones included (duplicates, too-old and invalid packets are not).
	PacketsReceived uint64
	// PacketsLost is expected minus received (RFC 3550 §A.3), where expected
	// spans the lowest to the highest extended sequence number accepted. A
	// packet that arrives late, after being counted lost, reduces it again.
	PacketsLost       uint64
	PacketsDuplicate  uint64 // rejected with ErrDuplicate
	PacketsOutOfOrder uint64 // accepted although a higher sequence number had arrived before
	PacketsPadding    uint64 // accepted packets with an empty payload
	PacketsTooOld     uint64 // rejected with ErrTooOld
	PacketsInvalid    uint64 // rejected with ErrInvalidPacket or ErrPacketTooLarge
	// Bytes is the total size of the packets counted in PacketsReceived.
	Bytes         uint64
	HighestExtSeq uint64
	// Jitter is the RFC 3550 §A.8 interarrival jitter in seconds, over
	// packets with a payload.
	Jitter float64
	// FractionLost is the loss in the interval since the previous Stats call
	// (or since New), 0..1. Late arrivals never make it negative.
	FractionLost float64
	// Bitrate is bits/s of accepted packets over that same interval.
	Bitrate float64
	// LastKeyframe is the arrival time of the newest keyframe packet; zero if none.
	LastKeyframe time.Time
}

// receiveStats is the sequence/timestamp unwrapping and statistics state of a
// Buffer. It is not synchronized; Buffer.mu guards it.
type receiveStats struct {
	started       bool
	baseExtSeq    uint64 // lowest accepted extended sequence number
	highestExtSeq uint64
	highestExtTS  uint64

	received, duplicate, outOfOrder, padding, tooOld, bytes uint64
	keyframeAt                                              int64 // unix ns of the newest keyframe
	hasKeyframe                                             bool

	// RFC 3550 §A.8 jitter state, in RTP timestamp units. Arrival times are
	// converted to RTP units relative to the first packet's arrival.
	clockRate   float64
	refArrival  int64
	lastTransit float64
	hasTransit  bool
	jitter      float64

	// Values at the previous snapshot, for the interval figures.
	prevExpected, prevReceived, prevBytes uint64
	prevAt                                time.Time
}

const jitterGain = 16 // RFC 3550 §6.4.1: J += (|D| - J) / 16

// start initializes the state with the first accepted packet.
func (s *receiveStats) start(extSeq, extTS uint64, arrival int64) {
	s.started = true
	s.baseExtSeq, s.highestExtSeq, s.highestExtTS = extSeq, extSeq, extTS
	s.refArrival = arrival
}

// record accounts for an accepted packet of size bytes.
func (s *receiveStats) record(extSeq, extTS uint64, size int, arrival int64, padding, keyframe bool) {
	switch {
	case extSeq > s.highestExtSeq:
		s.highestExtSeq = extSeq
	case extSeq < s.highestExtSeq:
		s.outOfOrder++
	}
	s.baseExtSeq = min(s.baseExtSeq, extSeq)
	s.highestExtTS = max(s.highestExtTS, extTS)
	s.received++
	s.bytes += uint64(size)
	if keyframe {
		s.keyframeAt, s.hasKeyframe = arrival, true
	}
	if padding {
		// Padding-only packets (bandwidth probes) reuse an old timestamp but
		// are sent late; they would inflate the jitter.
		s.padding++
		return
	}
	arrivalRTP := float64(arrival-s.refArrival) * s.clockRate / float64(time.Second)
	transit := arrivalRTP - float64(extTS)
	if s.hasTransit {
		d := math.Abs(transit - s.lastTransit)
		s.jitter += (d - s.jitter) / jitterGain
	}
	s.lastTransit, s.hasTransit = transit, true
}

func (s *receiveStats) expected() uint64 {
	if !s.started {
		return 0
	}
	return s.highestExtSeq - s.baseExtSeq + 1
}

// snapshot returns the statistics and starts a new interval at now.
func (s *receiveStats) snapshot(now time.Time, invalid uint64) Stats {
	expected := s.expected()
	st := Stats{
		PacketsReceived:   s.received,
		PacketsLost:       expected - s.received,
		PacketsDuplicate:  s.duplicate,
		PacketsOutOfOrder: s.outOfOrder,
		PacketsPadding:    s.padding,
		PacketsTooOld:     s.tooOld,
		PacketsInvalid:    invalid,
		Bytes:             s.bytes,
		HighestExtSeq:     s.highestExtSeq,
		Jitter:            s.jitter / s.clockRate,
	}
	if s.hasKeyframe {
		st.LastKeyframe = time.Unix(0, s.keyframeAt)
	}
	// RFC 3550 §A.3 interval loss; late arrivals can make it negative: clamp.
	expInterval := expected - s.prevExpected
	recInterval := s.received - s.prevReceived
	if expInterval > recInterval {
		st.FractionLost = float64(expInterval-recInterval) / float64(expInterval)
	}
	if elapsed := now.Sub(s.prevAt); elapsed > 0 {
		st.Bitrate = float64((s.bytes-s.prevBytes)*8) / elapsed.Seconds()
	}
	s.prevExpected, s.prevReceived, s.prevBytes, s.prevAt = expected, s.received, s.bytes, now
	return st
}
