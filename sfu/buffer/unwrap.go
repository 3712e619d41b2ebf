package buffer

// unwrap extends the width-bit counter value v (an RTP sequence number or
// timestamp) to the 64-bit value nearest to highest, the extended value of
// the newest counter seen so far (RFC 3550 §A.1: a value less than half the
// counter space ahead of highest is newer, otherwise older). ok is false when
// the value would lie before zero, i.e. before the stream's first packet
// across a wrap.
func unwrap(highest, v uint64, width uint) (ext uint64, ok bool) {
	mod := uint64(1) << width
	ahead := (v - highest) & (mod - 1)
	if ahead < mod/2 {
		return highest + ahead, true
	}
	behind := mod - ahead
	if behind > highest {
		return 0, false
	}
	return highest - behind, true
}
