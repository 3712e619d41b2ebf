package sfu

import "github.com/edgemesh/edge/sfu/codec"

const (
	vp8PictureIDMask = 0x7FFF // outgoing picture ids are always 15-bit
	vp8KeyIdxMask    = 0x1F
)

// vp8Munged holds the rewritten VP8 descriptor fields of one outgoing packet.
// A field is meaningful only when the source descriptor carried it.
type vp8Munged struct {
	pictureID uint16
	tl0PicIdx uint8
	keyIdx    uint8
}

// apply writes the munged fields into a copy of the source descriptor.
func (o vp8Munged) apply(v *codec.VP8) {
	if v.HasPictureID {
		v.PictureID = o.pictureID
		v.MBit = true
	}
	if v.HasTL0PICIDX {
		v.TL0PICIDX = o.tl0PicIdx
	}
	if v.HasKEYIDX {
		v.KEYIDX = o.keyIdx
	}
}

// vp8Munger keeps the VP8 picture id, TL0PICIDX and KEYIDX continuous across
// layer switches (RFC 7741 §4.2): each simulcast layer numbers its pictures
// independently, so at a switch the new layer is mapped to continue right after
// the last outgoing values. Picture ids are extended past their 7- or 15-bit
// wrap and always written back as 15-bit values, so a layer that uses 7-bit ids
// and one that uses 15-bit ids can follow each other.
//
// vp8Munger is a pure state machine; it is not safe for concurrent use.
type vp8Munger struct {
	pidStarted bool
	inPID      int64 // newest extended source picture id of the mapping
	outPID     int64 // newest extended outgoing picture id
	pidOffset  int64

	tl0Started bool
	outTL0     uint8
	tl0Offset  uint8

	keyStarted bool
	outKey     uint8
	keyOffset  uint8
}

// resync maps the keyframe descriptor v (first packet of a new mapping) to
// continue right after the last outgoing values. The first mapping keeps the
// source values.
func (m *vp8Munger) resync(v *codec.VP8) {
	if v.HasPictureID {
		in := int64(v.PictureID)
		if !m.pidStarted {
			m.pidStarted = true
			m.outPID = in - 1
		}
		m.inPID = in
		m.pidOffset = in - (m.outPID + 1)
	}
	if v.HasTL0PICIDX {
		if !m.tl0Started {
			m.tl0Started = true
			m.outTL0 = v.TL0PICIDX - 1
		}
		m.tl0Offset = v.TL0PICIDX - (m.outTL0 + 1)
	}
	if v.HasKEYIDX {
		if !m.keyStarted {
			m.keyStarted = true
			m.outKey = (v.KEYIDX - 1) & vp8KeyIdxMask
		}
		m.keyOffset = (v.KEYIDX - (m.outKey + 1)) & vp8KeyIdxMask
	}
}

// process returns the outgoing values for the source descriptor v of the
// current mapping. Reordered packets map to the values they would have had in
// order.
func (m *vp8Munger) process(v *codec.VP8) vp8Munged {
	var o vp8Munged
	if v.HasPictureID {
		if !m.pidStarted {
			m.resyncPictureID(v)
		}
		mod := int64(1 << 7)
		if v.MBit {
			mod = 1 << 15
		}
		diff := ((int64(v.PictureID)-m.inPID)%mod + mod) % mod
		if diff >= mod/2 {
			diff -= mod
		}
		ext := m.inPID + diff
		if ext > m.inPID {
			m.inPID = ext
		}
		out := ext - m.pidOffset
		if out > m.outPID {
			m.outPID = out
		}
		o.pictureID = uint16(out & vp8PictureIDMask)
	}
	if v.HasTL0PICIDX {
		if !m.tl0Started {
			m.tl0Started = true
			m.outTL0 = v.TL0PICIDX
		}
		out := v.TL0PICIDX - m.tl0Offset
		if int8(out-m.outTL0) > 0 {
			m.outTL0 = out
		}
		o.tl0PicIdx = out
	}
	if v.HasKEYIDX {
		if !m.keyStarted {
			m.keyStarted = true
			m.outKey = v.KEYIDX & vp8KeyIdxMask
		}
		out := (v.KEYIDX - m.keyOffset) & vp8KeyIdxMask
		if d := (out - m.outKey) & vp8KeyIdxMask; d != 0 && d < vp8KeyIdxMask/2+1 {
			m.outKey = out
		}
		o.keyIdx = out
	}
	return o
}

// resyncPictureID starts picture-id mapping at a packet that is not the first
// of its mapping (the stream started without picture ids).
func (m *vp8Munger) resyncPictureID(v *codec.VP8) {
	m.pidStarted = true
	m.inPID = int64(v.PictureID)
	m.outPID = m.inPID - 1
	m.pidOffset = 0
}
