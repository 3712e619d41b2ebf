package sfu

// sequencerSize is how many recent outgoing packets a down-track remembers
// for NACK retransmission (a power of two).
const sequencerSize = 512

// sentPacket records how one outgoing packet was produced, so that a NACK for
// it can be answered by re-reading the source packet and munging it exactly as
// the first time.
type sentPacket struct {
	outSN  uint16
	srcSN  uint16 // source sequence number within layer
	ts     uint32 // outgoing timestamp
	layer  int8
	valid  bool
	hasVP8 bool
	vp8    vp8Munged
}

// sequencer is a ring of the most recent outgoing packets, indexed by the
// outgoing sequence number. It is not safe for concurrent use (the
// down-track's mutex guards it).
type sequencer struct {
	ring [sequencerSize]sentPacket
}

// push records an outgoing packet. A reordered packet lands in its own slot.
func (s *sequencer) push(p sentPacket) {
	p.valid = true
	s.ring[p.outSN%sequencerSize] = p
}

// lookup returns the record of outgoing sequence number sn, if it is still in
// the ring.
func (s *sequencer) lookup(sn uint16) (sentPacket, bool) {
	p := s.ring[sn%sequencerSize]
	if !p.valid || p.outSN != sn {
		return sentPacket{}, false
	}
	return p, true
}
