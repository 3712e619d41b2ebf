package main

import "encoding/binary"

// rtpView is what the subscriber counters need from one raw RTP packet, without allocating.
type rtpView struct {
	seq     uint16
	payload []byte // after the header, CSRCs and extension, without padding
}

// parseRTP reads the fixed RTP header (RFC 3550 §5.1), skips CSRCs and the header extension
// (§5.3.1) and strips padding. It reports false for packets too short to be RTP.
func parseRTP(b []byte) (rtpView, bool) {
	const fixed = 12
	if len(b) < fixed || b[0]>>6 != 2 {
		return rtpView{}, false
	}
	v := rtpView{seq: binary.BigEndian.Uint16(b[2:4])}
	off := fixed + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // extension
		if len(b) < off+4 {
			return rtpView{}, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:off+4]))
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding: the last byte counts the padding bytes
		if end == 0 || int(b[end-1]) > end-off {
			return rtpView{}, false
		}
		end -= int(b[end-1])
	}
	if off > end {
		return rtpView{}, false
	}
	v.payload = b[off:end]
	return v, true
}

// vp8Keyframe reports whether an RTP payload (RFC 7741 payload descriptor + VP8 data) starts a
// VP8 keyframe, and if so the frame's width and height (RFC 6386 §9.1).
func vp8Keyframe(p []byte) (width, height uint16, ok bool) {
	if len(p) < 1 {
		return 0, 0, false
	}
	start := p[0]&0x10 != 0 && p[0]&0x07 == 0 // S=1, PID=0
	off := 1
	if p[0]&0x80 != 0 { // X: extension byte present
		if len(p) < 2 {
			return 0, 0, false
		}
		x := p[1]
		off = 2
		if x&0x80 != 0 { // I: picture ID, 7 or 15 bits
			if len(p) < off+1 {
				return 0, 0, false
			}
			if p[off]&0x80 != 0 {
				off += 2
			} else {
				off++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			off++
		}
		if x&0x30 != 0 { // T or K: TID/Y/KEYIDX
			off++
		}
	}
	if !start || len(p) < off+vp8KeyHeaderLen {
		return 0, 0, false
	}
	f := p[off:]
	if f[0]&0x01 != 0 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return 0, 0, false
	}
	width = binary.LittleEndian.Uint16(f[6:8]) & 0x3fff
	height = binary.LittleEndian.Uint16(f[8:10]) & 0x3fff
	return width, height, true
}
