package sfu

// dropRecordSize is how many recent in-sequence drops (padding-only packets)
// an rtpMunger remembers, so that a reordered packet arriving after a drop
// still gets the outgoing sequence number it would have had in order.
const dropRecordSize = 16

// mungeResult says what the munger decided for one packet.
type mungeResult uint8

const (
	mungeForward     mungeResult = iota // forward with the returned sn/ts
	mungeDropPadding                    // padding-only packet, dropped without leaving a gap
	mungeDropTooOld                     // older than the current mapping; cannot be placed
)

// rtpMunger rewrites the sequence numbers and timestamps of one down-track so
// that the subscriber sees a single stream although the source packets come
// from several simulcast layers (each with its own sequence and timestamp
// space), with pauses, and with packets dropped on purpose.
//
// Outgoing sequence numbers never leave a gap the source did not have: a
// dropped in-sequence packet shifts the mapping of every later packet by one.
// Outgoing timestamps are monotonic: at every resync (start, layer switch,
// resume) the new mapping continues from the last outgoing timestamp plus the
// wall-clock time elapsed since it was sent.
//
// rtpMunger is a pure state machine; it is not safe for concurrent use (the
// forwarder's owner guards it).
type rtpMunger struct {
	clockRate uint32
	started   bool

	// Outgoing state: the newest packet sent.
	outHighest   uint64 // extended outgoing sequence number
	outTS        uint32
	outArrival   int64 // source arrival time of that packet, unix ns
	snOffset     uint64
	tsOffset     uint32
	inHighest    uint64 // newest extended source sequence number of the mapping
	resyncExt    uint64 // first extended source sequence number of the mapping
	drops        [dropRecordSize]uint64
	dropCount    int    // valid entries in drops (≤ dropRecordSize)
	dropNext     int    // ring write index
	lateLimit    uint64 // packets at or below this were affected by forgotten drops
	hasLateLimit bool
}

func newRTPMunger(clockRate uint32) rtpMunger {
	return rtpMunger{clockRate: clockRate}
}

// resync starts a new mapping at the source packet (extSeq, ts) that arrived
// at arrival: it becomes the next outgoing packet. The very first mapping keeps
// the source's numbers unchanged.
func (m *rtpMunger) resync(extSeq uint64, ts uint32, arrival int64) {
	if !m.started {
		m.started = true
		m.snOffset = 0
		m.tsOffset = 0
		m.outHighest = extSeq - 1
		m.outTS = ts
		m.outArrival = arrival
	} else {
		m.snOffset = extSeq - (m.outHighest + 1)
		m.tsOffset = ts - (m.outTS + m.elapsedTicks(arrival))
	}
	m.inHighest = extSeq - 1
	m.resyncExt = extSeq
	m.dropCount, m.dropNext = 0, 0
	m.hasLateLimit = false
}

// elapsedTicks converts the wall-clock time since the last outgoing packet to
// RTP clock ticks, at least 1 so that a new mapping never repeats a timestamp.
func (m *rtpMunger) elapsedTicks(arrival int64) uint32 {
	d := arrival - m.outArrival
	if d <= 0 || m.clockRate == 0 {
		return 1
	}
	ticks := uint64(d) / 1000 * uint64(m.clockRate) / 1_000_000
	if ticks == 0 {
		return 1
	}
	return uint32(ticks)
}

// process maps one source packet of the current mapping. padding marks a
// packet without payload, which is dropped; when in sequence, later packets
// close up behind it.
func (m *rtpMunger) process(extSeq uint64, ts uint32, arrival int64, padding bool) (uint16, uint32, mungeResult) {
	if extSeq < m.resyncExt {
		return 0, 0, mungeDropTooOld
	}
	if extSeq > m.inHighest {
		m.inHighest = extSeq
		if padding {
			m.recordDrop(extSeq)
			return 0, 0, mungeDropPadding
		}
		out := extSeq - m.snOffset
		outTS := ts - m.tsOffset
		m.outHighest = out
		m.outTS = outTS
		if arrival > m.outArrival {
			m.outArrival = arrival
		}
		return uint16(out), outTS, mungeForward
	}
	// Reordered: its slot was reserved when the newer packets were mapped.
	if padding {
		return 0, 0, mungeDropPadding
	}
	if m.hasLateLimit && extSeq <= m.lateLimit {
		return 0, 0, mungeDropTooOld
	}
	offset := m.snOffset
	for i := 0; i < m.dropCount; i++ {
		if m.drops[i] > extSeq {
			offset-- // that drop happened after this packet's slot
		}
	}
	return uint16(extSeq - offset), ts - m.tsOffset, mungeForward
}

// recordDrop notes an in-sequence drop and shifts the mapping of later packets.
func (m *rtpMunger) recordDrop(extSeq uint64) {
	m.snOffset++
	if m.dropCount == dropRecordSize {
		// Forget the oldest drop: packets at or before it can no longer be
		// placed exactly, so they will be refused.
		m.lateLimit = m.drops[m.dropNext]
		m.hasLateLimit = true
	} else {
		m.dropCount++
	}
	m.drops[m.dropNext] = extSeq
	m.dropNext = (m.dropNext + 1) % dropRecordSize
}

// lastTimestamp returns the newest outgoing timestamp and whether anything was
// mapped yet.
func (m *rtpMunger) lastTimestamp() (uint32, bool) {
	return m.outTS, m.started
}
