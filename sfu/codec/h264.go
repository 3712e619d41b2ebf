package codec

import "encoding/binary"

// H.264 NAL unit types used for keyframe detection (RFC 6184 §5.2, ITU-T H.264 Table 7-1).
const (
	h264NALTypeMask = 0x1F
	h264NALIDR      = 5
	h264NALSPS      = 7
	h264NALSTAPA    = 24
	h264NALSTAPB    = 25
	h264NALFUA      = 28
	h264NALFUB      = 29
	h264FUStart     = 0x80
	h264DONSize     = 2
	h264STAPLenSize = 2
)

func isH264KeyNAL(nalType byte) bool {
	return nalType == h264NALIDR || nalType == h264NALSPS
}

// isH264Keyframe reports whether payload is, aggregates or starts an IDR
// slice or an SPS. MTAP packets (types 26, 27) are not inspected.
func isH264Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	nalType := payload[0] & h264NALTypeMask
	switch {
	case nalType >= 1 && nalType <= 23:
		return isH264KeyNAL(nalType)
	case nalType == h264NALSTAPA:
		return stapHasKeyNAL(payload[1:])
	case nalType == h264NALSTAPB:
		if len(payload) < 1+h264DONSize {
			return false
		}
		return stapHasKeyNAL(payload[1+h264DONSize:])
	case nalType == h264NALFUA || nalType == h264NALFUB:
		// RFC 6184 §5.8: FU indicator, FU header |S|E|R|Type| [, DON for FU-B].
		if len(payload) < 2 {
			return false
		}
		fu := payload[1]
		return fu&h264FUStart != 0 && isH264KeyNAL(fu&h264NALTypeMask)
	default:
		return false
	}
}

// stapHasKeyNAL walks the aggregation units of a STAP (RFC 6184 §5.7.1):
// a 16-bit NAL unit size followed by the NAL unit, repeated.
func stapHasKeyNAL(units []byte) bool {
	for len(units) >= h264STAPLenSize+1 {
		size := int(binary.BigEndian.Uint16(units))
		units = units[h264STAPLenSize:]
		if size == 0 || size > len(units) {
			return false
		}
		if isH264KeyNAL(units[0] & h264NALTypeMask) {
			return true
		}
		units = units[size:]
	}
	return false
}
