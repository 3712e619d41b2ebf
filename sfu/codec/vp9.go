package codec

// VP9 payload descriptor bits (RFC 9628 §4.2).
//
//	      0 1 2 3 4 5 6 7
//	     +-+-+-+-+-+-+-+-+
//	     |I|P|L|F|B|E|V|Z| (REQUIRED)
//	     +-+-+-+-+-+-+-+-+
//	I:   |M| PICTURE ID  | (RECOMMENDED)
//	     +-+-+-+-+-+-+-+-+
//	M:   | EXTENDED PID  | (RECOMMENDED)
//	     +-+-+-+-+-+-+-+-+
//	L:   | TID |U| SID |D| (Conditionally RECOMMENDED)
//	     +-+-+-+-+-+-+-+-+
const (
	vp9BitI      = 0x80
	vp9BitP      = 0x40
	vp9BitL      = 0x20
	vp9BitB      = 0x08
	vp9BitM      = 0x80
	vp9MaskSID   = 0x0E
	vp9ShiftSID  = 1
	vp9BaseLayer = 0
)

// isVP9Keyframe reports whether payload starts a frame (B=1) that is not
// inter-picture predicted (P=0) and, when layer indices are present, belongs
// to the base spatial layer.
func isVP9Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	b0 := payload[0]
	if b0&vp9BitB == 0 || b0&vp9BitP != 0 {
		return false
	}
	idx := 1
	if b0&vp9BitI != 0 {
		if len(payload) <= idx {
			return false
		}
		if payload[idx]&vp9BitM != 0 {
			idx += 2
		} else {
			idx++
		}
	}
	if b0&vp9BitL != 0 {
		if len(payload) <= idx {
			return false
		}
		sid := (payload[idx] & vp9MaskSID) >> vp9ShiftSID
		return sid == vp9BaseLayer
	}
	return len(payload) > idx
}
