package codec

// VP8 payload descriptor bits (RFC 7741 §4.2).
//
//	     0 1 2 3 4 5 6 7
//	    +-+-+-+-+-+-+-+-+
//	    |X|R|N|S|R| PID | (REQUIRED)
//	    +-+-+-+-+-+-+-+-+
//	X:  |I|L|T|K| RSV   | (OPTIONAL)
//	    +-+-+-+-+-+-+-+-+
//	I:  |M| PictureID   | (OPTIONAL)
//	    +-+-+-+-+-+-+-+-+
//	    |   PictureID   | (present when M=1)
//	    +-+-+-+-+-+-+-+-+
//	L:  |   TL0PICIDX   | (OPTIONAL)
//	    +-+-+-+-+-+-+-+-+
//	T/K:|TID|Y| KEYIDX  | (OPTIONAL)
//	    +-+-+-+-+-+-+-+-+
const (
	vp8BitX      = 0x80
	vp8BitN      = 0x20
	vp8BitS      = 0x10
	vp8MaskPID   = 0x07
	vp8BitI      = 0x80
	vp8BitL      = 0x40
	vp8BitT      = 0x20
	vp8BitK      = 0x10
	vp8BitM      = 0x80
	vp8MaskTID   = 0xC0
	vp8ShiftTID  = 6
	vp8BitY      = 0x20
	vp8MaskKEY   = 0x1F
	vp8PicID7    = 0x7F
	vp8PicID15   = 0x7FFF
	vp8PayloadP  = 0x01 // inverse key frame flag of the VP8 payload header (RFC 7741 §4.3)
	vp8MaxDescSz = 6
)

// VP8 is a parsed VP8 RTP payload descriptor (RFC 7741 §4.2) plus keyframe
// flag. Fields of absent optional parts are zero.
type VP8 struct {
	FirstByte    byte   // X|R|N|S|R|PID as received
	S            bool   // start of partition
	PID          uint8  // partition index
	N            bool   // non-reference frame
	HasPictureID bool   // I bit
	PictureID    uint16 // 7 or 15 bit value
	MBit         bool   // picture id was 15-bit
	HasTL0PICIDX bool   // L bit
	TL0PICIDX    uint8
	HasTID       bool // T bit
	TID          uint8
	Y            bool // layer sync; only meaningful when HasTID
	HasKEYIDX    bool // K bit
	KEYIDX       uint8
	HeaderSize   int  // descriptor length in bytes (payload[HeaderSize:] is the VP8 payload)
	IsKeyframe   bool // S && PID==0 && VP8 payload header P bit == 0 (RFC 7741 §4.3)
}

// ParseVP8 parses the VP8 payload descriptor at the start of an RTP payload
// into out. It returns ErrShortPacket if the payload ends inside the
// descriptor or carries no VP8 payload byte after it. It does not allocate.
// On error, out is left in an unspecified state.
func ParseVP8(payload []byte, out *VP8) error {
	if len(payload) < 1 {
		return ErrShortPacket
	}
	*out = VP8{}
	b0 := payload[0]
	out.FirstByte = b0
	out.N = b0&vp8BitN != 0
	out.S = b0&vp8BitS != 0
	out.PID = b0 & vp8MaskPID
	idx := 1
	if b0&vp8BitX != 0 {
		if len(payload) <= idx {
			return ErrShortPacket
		}
		x := payload[idx]
		idx++
		out.HasPictureID = x&vp8BitI != 0
		out.HasTL0PICIDX = x&vp8BitL != 0
		out.HasTID = x&vp8BitT != 0
		out.HasKEYIDX = x&vp8BitK != 0
		if out.HasPictureID {
			if len(payload) <= idx {
				return ErrShortPacket
			}
			if payload[idx]&vp8BitM != 0 {
				if len(payload) <= idx+1 {
					return ErrShortPacket
				}
				out.MBit = true
				out.PictureID = uint16(payload[idx]&vp8PicID7)<<8 | uint16(payload[idx+1])
				idx += 2
			} else {
				out.PictureID = uint16(payload[idx] & vp8PicID7)
				idx++
			}
		}
		if out.HasTL0PICIDX {
			if len(payload) <= idx {
				return ErrShortPacket
			}
			out.TL0PICIDX = payload[idx]
			idx++
		}
		if out.HasTID || out.HasKEYIDX {
			if len(payload) <= idx {
				return ErrShortPacket
			}
			tk := payload[idx]
			idx++
			if out.HasTID {
				out.TID = (tk & vp8MaskTID) >> vp8ShiftTID
				out.Y = tk&vp8BitY != 0
			}
			if out.HasKEYIDX {
				out.KEYIDX = tk & vp8MaskKEY
			}
		}
	}
	// RFC 7741 §4.2: a packet always carries at least one byte of VP8 payload.
	if len(payload) <= idx {
		return ErrShortPacket
	}
	out.HeaderSize = idx
	out.IsKeyframe = out.S && out.PID == 0 && payload[idx]&vp8PayloadP == 0
	return nil
}

func isVP8Keyframe(payload []byte) bool {
	var v VP8
	return ParseVP8(payload, &v) == nil && v.IsKeyframe
}

// hasExtension reports whether the descriptor needs the X byte.
func (v *VP8) hasExtension() bool {
	return v.HasPictureID || v.HasTL0PICIDX || v.HasTID || v.HasKEYIDX
}

// DescriptorSize returns the number of bytes MarshalDescriptor writes for v:
// the picture id, when present, always counts as two bytes.
func (v *VP8) DescriptorSize() int {
	if !v.hasExtension() {
		return 1
	}
	n := 2
	if v.HasPictureID {
		n += 2
	}
	if v.HasTL0PICIDX {
		n++
	}
	if v.HasTID || v.HasKEYIDX {
		n++
	}
	return n
}

// MarshalDescriptor writes a descriptor for v into dst: the same flags and
// values as v, but when HasPictureID it always writes a 15-bit picture id
// (M=1), so a forwarder can rewrite picture ids without changing the packet
// length across layers. Reserved bits are written as zero; the X byte is
// omitted when no optional field is present. Values are masked to their field
// widths. It returns the number of bytes written, or ErrShortBuffer if dst is
// shorter than DescriptorSize. It does not allocate.
func (v *VP8) MarshalDescriptor(dst []byte) (int, error) {
	n := v.DescriptorSize()
	if len(dst) < n {
		return 0, ErrShortBuffer
	}
	b0 := v.PID & vp8MaskPID
	if v.N {
		b0 |= vp8BitN
	}
	if v.S {
		b0 |= vp8BitS
	}
	if n == 1 {
		dst[0] = b0
		return 1, nil
	}
	dst[0] = b0 | vp8BitX
	var x byte
	idx := 2
	if v.HasPictureID {
		x |= vp8BitI
		pid := v.PictureID & vp8PicID15
		dst[idx] = vp8BitM | byte(pid>>8)
		dst[idx+1] = byte(pid)
		idx += 2
	}
	if v.HasTL0PICIDX {
		x |= vp8BitL
		dst[idx] = v.TL0PICIDX
		idx++
	}
	if v.HasTID || v.HasKEYIDX {
		var tk byte
		if v.HasTID {
			x |= vp8BitT
			tk |= (v.TID << vp8ShiftTID) & vp8MaskTID
			if v.Y {
				tk |= vp8BitY
			}
		}
		if v.HasKEYIDX {
			x |= vp8BitK
			tk |= v.KEYIDX & vp8MaskKEY
		}
		dst[idx] = tk
	}
	dst[1] = x
	return n, nil
}
