package bwe

import (
	"encoding/binary"
	"fmt"
)

// Wire layout of one TWCC feedback packet
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), offsets in bytes:
//
//	 0  V=2 (2 bits) | P (1) | FMT=15 (5) | PT=205 (8) | length (16)
//	 4  SSRC of packet sender (32)
//	 8  SSRC of media source (32)
//	12  base sequence number (16) | packet status count (16)
//	16  reference time (24, signed, 64 ms units) | feedback packet count (8)
//	20  packet status chunks, 16 bits each, until the status count is covered
//	    receive deltas, one per packet received with a delta, in status order
//	    zero padding up to the length
//
// The RTCP length field counts 32-bit words minus one, so the packet is
// 4·(length+1) bytes. With P set the last byte counts RTCP padding; the
// reader, like pion's rtcp package, does not use it: it reads exactly the
// chunks and deltas the status count calls for and ignores what follows.
const (
	rtcpVersion        = 2   // V, the top two bits of byte 0
	rtcpTypeRTPFB      = 205 // PT of transport layer feedback, byte 1
	twccFormat         = 15  // FMT of TWCC, the low five bits of byte 0
	twccFixedLength    = 20  // RTCP header and the fixed fields, up to the first chunk
	twccBaseSeqOffset  = 12  // base sequence number
	twccCountOffset    = 14  // packet status count
	twccRefTimeOffset  = 16  // reference time, 3 bytes
	twccChunkOffset    = twccFixedLength
	twccChunkLength    = 2   // bytes of a packet status chunk
	twccDeltaScaleUS   = 250 // receive deltas count multiples of 250 µs
	twccRunLengthMask  = 0x1fff
	twccVectorSymbols1 = 14 // one-bit symbols in a status vector chunk
	twccVectorSymbols2 = 7  // two-bit symbols in a status vector chunk
)

// Status symbols (§3.1.1), the same values as pion's rtcp.TypeTCCPacket*.
const (
	symbolNotReceived   = 0
	symbolSmallDelta    = 1      // received, 1-byte unsigned delta
	symbolLargeDelta    = 2      // received, 2-byte signed delta
	symbolWithoutDelta  = 3      // received, no delta
	symbolTwoBitMask    = 3      // extracts a two-bit symbol
	chunkTypeVectorBit  = 0x8000 // chunk type: 0 run length, 1 status vector
	chunkVectorSizeBit  = 0x4000 // status vector symbol size: 0 one bit, 1 two bits
	runLengthSymbolBits = 13     // a run-length chunk's symbol sits above its 13-bit run length
)

// chunkSymbols returns how many statuses the packet status chunk c describes.
func chunkSymbols(c uint16) int {
	switch {
	case c&chunkTypeVectorBit == 0:
		// Run length: 0 | symbol (2 bits) | run length (13 bits).
		return int(c & twccRunLengthMask)
	case c&chunkVectorSizeBit == 0:
		// Status vector of one-bit symbols: 1 | 0 | 14 symbols, 0 = not
		// received, 1 = received with a small delta.
		return twccVectorSymbols1
	default:
		// Status vector of two-bit symbols: 1 | 1 | 7 symbols.
		return twccVectorSymbols2
	}
}

// chunkSymbol returns status i (0 <= i < chunkSymbols(c)) of chunk c. The
// symbols of a status vector are packed most significant bit first.
func chunkSymbol(c uint16, i int) int {
	switch {
	case c&chunkTypeVectorBit == 0:
		return int(c>>runLengthSymbolBits) & symbolTwoBitMask
	case c&chunkVectorSizeBit == 0:
		return int(c>>(13-i)) & 1 // bit 2+i of 16, counted from the top
	default:
		return int(c>>(12-2*i)) & symbolTwoBitMask // bits 2+2i and 3+2i
	}
}

// rawTWCCReader walks the packet statuses of one TWCC feedback packet
// straight from its bytes, without allocating: it yields the same
// packetStatus sequence as a twccReader over pion's parse of the same bytes.
//
// newRawTWCCReader validates the fixed part and the chunk area (the chunks
// must cover the packet status count inside the packet, which also locates
// the first receive delta); the deltas are read lazily, so a packet whose
// deltas are cut short yields the statuses before the first missing one and
// then the error, as twccReader does for a report short of deltas.
type rawTWCCReader struct {
	pkt       []byte // the packet, exactly as long as its length field says
	err       error  // the fixed part or the chunk area is malformed: next returns it
	remaining int    // statuses still to report
	chunkOff  int    // offset of the current chunk
	chunk     uint16 // the current chunk
	chunkLen  int    // statuses of the current chunk
	pos       int    // next status inside the current chunk
	deltaOff  int    // offset of the next receive delta
	seq       uint16
	arrivalUS int64 // running arrival time, µs of the receiver clock
}

// newRawTWCCReader returns a reader over pkt, one RTCP packet alone (cut out
// of a compound packet by its length field). The running arrival time starts
// at 0: setReference positions it at the unwrapped reference time. The reader
// keeps pkt until the walk ends and never writes to it.
func newRawTWCCReader(pkt []byte) rawTWCCReader {
	r := rawTWCCReader{pkt: pkt}
	if r.err = checkTWCCHeader(pkt); r.err != nil {
		return r
	}
	r.seq = binary.BigEndian.Uint16(pkt[twccBaseSeqOffset:])
	r.remaining = int(binary.BigEndian.Uint16(pkt[twccCountOffset:]))
	r.chunkOff = twccChunkOffset
	// Locate the receive deltas: they follow the last chunk needed to cover
	// the status count (whose surplus statuses, if any, are ignored).
	off := twccChunkOffset
	for covered := 0; covered < r.remaining; off += twccChunkLength {
		if off+twccChunkLength > len(pkt) {
			r.err = fmt.Errorf("%w: packet status chunks cover %d of %d statuses",
				ErrMalformedFeedback, covered, r.remaining)
			return r
		}
		covered += chunkSymbols(binary.BigEndian.Uint16(pkt[off:]))
	}
	r.deltaOff = off
	return r
}

// checkTWCCHeader validates the RTCP header and the fixed fields of a TWCC
// feedback packet.
func checkTWCCHeader(pkt []byte) error {
	if len(pkt) < twccFixedLength {
		return fmt.Errorf("%w: %d bytes, shorter than the fixed part", ErrMalformedFeedback, len(pkt))
	}
	if v := pkt[0] >> 6; v != rtcpVersion {
		return fmt.Errorf("%w: RTCP version %d", ErrMalformedFeedback, v)
	}
	if fmtField, pt := pkt[0]&0x1f, pkt[1]; pt != rtcpTypeRTPFB || fmtField != twccFormat {
		return fmt.Errorf("%w: not transport-wide feedback (PT %d, FMT %d)", ErrMalformedFeedback, pt, fmtField)
	}
	if n := 4 * (int(binary.BigEndian.Uint16(pkt[2:])) + 1); n != len(pkt) {
		return fmt.Errorf("%w: length field says %d bytes, packet has %d", ErrMalformedFeedback, n, len(pkt))
	}
	return nil
}

// referenceTime returns the 24-bit reference time of the packet, 0 if the
// packet is malformed.
func (r *rawTWCCReader) referenceTime() uint32 {
	if r.err != nil {
		return 0
	}
	b := r.pkt[twccRefTimeOffset : twccRefTimeOffset+3]
	return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
}

// malformed returns the error found in the fixed part or the chunk area, nil
// if the walk can start.
func (r *rawTWCCReader) malformed() error { return r.err }

// setReference starts the running arrival time at referenceUnits (the
// unwrapped reference time, in 64 ms units). Call it before the first next.
func (r *rawTWCCReader) setReference(referenceUnits int64) {
	r.arrivalUS = referenceUnits * referenceTimeUnitUS
}

// next returns the next packet status; ok is false at the end. A malformed
// packet ends the walk with an error wrapping ErrMalformedFeedback: at once
// for a bad fixed part or chunk area, at the first missing delta otherwise.
func (r *rawTWCCReader) next() (st packetStatus, ok bool, err error) {
	if r.err != nil {
		return packetStatus{}, false, r.err
	}
	for r.pos >= r.chunkLen {
		if r.remaining <= 0 {
			return packetStatus{}, false, nil
		}
		// newRawTWCCReader checked that the chunks covering the status count
		// lie inside the packet; the check keeps a misuse from panicking.
		if r.chunkOff+twccChunkLength > r.deltaOff {
			r.err = fmt.Errorf("%w: packet status chunks end early", ErrMalformedFeedback)
			return packetStatus{}, false, r.err
		}
		r.chunk = binary.BigEndian.Uint16(r.pkt[r.chunkOff:])
		r.chunkLen = chunkSymbols(r.chunk)
		r.chunkOff += twccChunkLength
		r.pos = 0
	}
	if r.remaining <= 0 {
		return packetStatus{}, false, nil
	}
	symbol := chunkSymbol(r.chunk, r.pos)
	st = packetStatus{seq: r.seq}
	switch symbol {
	case symbolNotReceived:
	case symbolSmallDelta:
		if r.deltaOff+1 > len(r.pkt) {
			return r.missingDelta()
		}
		r.arrivalUS += twccDeltaScaleUS * int64(r.pkt[r.deltaOff])
		r.deltaOff++
		st.received, st.hasArrival, st.arrivalUS = true, true, r.arrivalUS
	case symbolLargeDelta:
		if r.deltaOff+2 > len(r.pkt) {
			return r.missingDelta()
		}
		r.arrivalUS += twccDeltaScaleUS * int64(int16(binary.BigEndian.Uint16(r.pkt[r.deltaOff:])))
		r.deltaOff += 2
		st.received, st.hasArrival, st.arrivalUS = true, true, r.arrivalUS
	case symbolWithoutDelta:
		st.received = true
	}
	r.pos++
	r.remaining--
	r.seq++
	return st, true, nil
}

// missingDelta ends the walk at a received status whose delta lies beyond
// the packet.
func (r *rawTWCCReader) missingDelta() (packetStatus, bool, error) {
	r.err = fmt.Errorf("%w: missing receive delta for sequence number %d", ErrMalformedFeedback, r.seq)
	return packetStatus{}, false, r.err
}
