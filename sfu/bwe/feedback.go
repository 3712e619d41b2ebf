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

// feedbackReader walks the packet statuses of one TWCC report in sequence
// order: twccReader over pion's parse of the report, rawTWCCReader over its
// bytes, feedbackWalk over either.
type feedbackReader interface {
	// referenceTime returns the report's 24-bit reference time.
	referenceTime() uint32
	// setReference starts the running arrival time at the unwrapped
	// reference time, in 64 ms units, before the first next.
	setReference(referenceUnits int64)
	// next returns the next status; ok is false at the end. An error (which
	// wraps ErrMalformedFeedback) ends the walk; the statuses before it are
	// valid.
	next() (st packetStatus, ok bool, err error)
}

var (
	_ feedbackReader = (*twccReader)(nil)
	_ feedbackReader = (*rawTWCCReader)(nil)
	_ feedbackReader = feedbackWalk{}
)

// feedbackWalk is the reader Estimator.processFeedback walks: exactly one of
// parsed and raw is set. It is a concrete type, not the interface nor a type
// parameter, because Go calls the methods of either through a table: an
// indirect call per status that also makes the reader escape to the heap,
// one allocation per report. A predictable branch per status costs less.
type feedbackWalk struct {
	parsed *twccReader
	raw    *rawTWCCReader
}

// referenceTime returns the report's 24-bit reference time.
func (w feedbackWalk) referenceTime() uint32 {
	if w.raw != nil {
		return w.raw.referenceTime()
	}
	return w.parsed.referenceTime()
}

// setReference starts the running arrival time at referenceUnits (in 64 ms
// units). Call it before the first next.
func (w feedbackWalk) setReference(referenceUnits int64) {
	if w.raw != nil {
		w.raw.setReference(referenceUnits)
		return
	}
	w.parsed.setReference(referenceUnits)
}

// next returns the next packet status of the reader that is set.
func (w feedbackWalk) next() (st packetStatus, ok bool, err error) {
	if w.raw != nil {
		return w.raw.next()
	}
	return w.parsed.next()
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

// newTWCCReader returns a reader over fb whose running arrival time starts
// at referenceUnits (the unwrapped reference time, in 64 ms units).
func newTWCCReader(fb *rtcp.TransportLayerCC, referenceUnits int64) twccReader {
	return twccReader{
		fb:        fb,
		remaining: int(fb.PacketStatusCount),
		seq:       fb.BaseSequenceNumber,
		arrivalUS: referenceUnits * referenceTimeUnitUS,
	}
}

// referenceTime returns the report's 24-bit reference time.
func (r *twccReader) referenceTime() uint32 { return r.fb.ReferenceTime }

// setReference starts the running arrival time at referenceUnits (the
// unwrapped reference time, in 64 ms units). Call it before the first next.
func (r *twccReader) setReference(referenceUnits int64) {
	r.arrivalUS = referenceUnits * referenceTimeUnitUS
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
