package bwe

import (
	"fmt"

	"github.com/pion/rtcp"
)

// TWCC feedback layout (draft-holmer-rmcat-transport-wide-cc-extensions-01
// §3.1): a base sequence number, a packet status count, a 24-bit signed
// reference time in multiples of 64 ms, packet status chunks (run-length or
// status vector) and one receive delta per packet received with a delta.
// Deltas are relative to the previous received packet (the first to the
// reference time), in multiples of 250 µs; pion's rtcp package has already
// scaled them to µs.
const (
	referenceTimeUnitUS = 64_000
	referenceTimeBits   = 24
	referenceTimeSpan   = int64(1) << referenceTimeBits
)

// unwrapReference turns a 24-bit reference time into a continuous count of
// 64 ms units, choosing the value nearest to the previous one (prev < 0: the
// first report).
func unwrapReference(ref uint32, prev int64) int64 {
	r := int64(ref) & (referenceTimeSpan - 1)
	if prev < 0 {
		return r
	}
	delta := (r-prev+referenceTimeSpan/2)&(referenceTimeSpan-1) - referenceTimeSpan/2
	return prev + delta
}

// packetStatus is one packet reported by a feedback.
type packetStatus struct {
	seq      uint16
	received bool
	// hasArrival says arrivalUS is valid: false for a packet reported lost,
	// or received without a delta.
	hasArrival bool
	arrivalUS  int64 // receiver clock
}

// twccReader walks the packet statuses of one feedback report in sequence
// order without allocating.
type twccReader struct {
	fb        *rtcp.TransportLayerCC
	remaining int // statuses still to report (PacketStatusCount bounds the chunks)
	chunk     int // index into fb.PacketChunks
	pos       int // position inside the current chunk
	delta     int // index into fb.RecvDeltas
	seq       uint16
	arrivalUS int64 // running arrival time
}

func newTWCCReader(fb *rtcp.TransportLayerCC, referenceUnits int64) twccReader {
	return twccReader{
		fb:        fb,
		remaining: int(fb.PacketStatusCount),
		seq:       fb.BaseSequenceNumber,
		arrivalUS: referenceUnits * referenceTimeUnitUS,
	}
}

// next returns the next packet status; ok is false at the end. A malformed
// report (a received symbol without its delta, an unknown chunk type) ends
// the walk with an error.
func (r *twccReader) next() (st packetStatus, ok bool, err error) {
	for r.remaining > 0 && r.chunk < len(r.fb.PacketChunks) {
		symbol, more := r.symbol()
		if !more {
			r.chunk++
			r.pos = 0
			continue
		}
		if symbol < 0 {
			return packetStatus{}, false, fmt.Errorf("%w: unknown chunk type", ErrMalformedFeedback)
		}
		r.pos++
		r.remaining--
		st = packetStatus{seq: r.seq}
		r.seq++
		switch uint16(symbol) {
		case rtcp.TypeTCCPacketNotReceived:
		case rtcp.TypeTCCPacketReceivedSmallDelta, rtcp.TypeTCCPacketReceivedLargeDelta:
			if r.delta >= len(r.fb.RecvDeltas) || r.fb.RecvDeltas[r.delta] == nil {
				return packetStatus{}, false, fmt.Errorf("%w: missing receive delta", ErrMalformedFeedback)
			}
			r.arrivalUS += r.fb.RecvDeltas[r.delta].Delta
			r.delta++
			st.received, st.hasArrival, st.arrivalUS = true, true, r.arrivalUS
		default: // received without a delta
			st.received = true
		}
		return st, true, nil
	}
	return packetStatus{}, false, nil
}

// symbol returns the status symbol at the current position of the current
// chunk; more is false when the chunk is exhausted; the symbol is -1 for an
// unknown chunk type.
func (r *twccReader) symbol() (symbol int, more bool) {
	switch c := r.fb.PacketChunks[r.chunk].(type) {
	case *rtcp.RunLengthChunk:
		if r.pos >= int(c.RunLength) {
			return 0, false
		}
		return int(c.PacketStatusSymbol), true
	case *rtcp.StatusVectorChunk:
		if r.pos >= len(c.SymbolList) {
			return 0, false
		}
		return int(c.SymbolList[r.pos]), true
	default:
		return -1, true
	}
}
