package codec

import (
	"bytes"
	"testing"
)

func FuzzParseVP8(f *testing.F) {
	f.Add([]byte{0x10, 0x00})
	f.Add([]byte{0x90, 0x80, 0x55, 0x00})
	f.Add([]byte{0x90, 0xF0, 0xFF, 0xFF, 0x07, 0xB5, 0x00})
	f.Add([]byte{0x80, 0x10, 0xE3, 0x01})
	f.Add([]byte{0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, payload []byte) {
		var v VP8
		if err := ParseVP8(payload, &v); err != nil {
			return
		}
		if v.HeaderSize < 1 || v.HeaderSize > vp8MaxDescSz || v.HeaderSize >= len(payload) {
			t.Fatalf("header size %d out of range for %d-byte payload", v.HeaderSize, len(payload))
		}
		if v.IsKeyframe != IsKeyframe(MimeVP8, payload) {
			t.Fatal("IsKeyframe disagrees with ParseVP8")
		}
		size := v.DescriptorSize()
		if v.HasPictureID && size < v.HeaderSize {
			t.Fatalf("marshal size %d shrank below parsed %d with picture id", size, v.HeaderSize)
		}
		buf := make([]byte, size+len(payload)-v.HeaderSize)
		if _, err := v.MarshalDescriptor(buf[:size-1]); err == nil {
			t.Fatal("marshal into short buffer succeeded")
		}
		n, err := v.MarshalDescriptor(buf)
		if err != nil || n != size {
			t.Fatalf("marshal: n=%d size=%d err=%v", n, size, err)
		}
		copy(buf[n:], payload[v.HeaderSize:])

		var w VP8
		if err := ParseVP8(buf, &w); err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if w.HeaderSize != size {
			t.Fatalf("reparsed header size %d, marshalled %d", w.HeaderSize, size)
		}
		if !bytes.Equal(buf[w.HeaderSize:], payload[v.HeaderSize:]) {
			t.Fatal("VP8 payload changed")
		}
		want := v
		want.MBit = v.HasPictureID
		want.FirstByte, w.FirstByte = 0, 0
		want.HeaderSize = size
		if want != w {
			t.Fatalf("round trip mismatch:\n got %+v\nwant %+v", w, want)
		}
	})
}

func FuzzIsKeyframe(f *testing.F) {
	f.Add(uint8(CodecVP8), []byte{0x10, 0x00})
	f.Add(uint8(CodecH264), []byte{0x78, 0x00, 0x02, 0x67, 0x42})
	f.Add(uint8(CodecH264), []byte{0x7C, 0x85, 0x88})
	f.Add(uint8(CodecVP9), []byte{0xA8, 0x81, 0x12, 0x00, 0x05})
	f.Add(uint8(CodecAV1), []byte{0x18, 0x0A})
	f.Add(uint8(CodecOpus), []byte{0xFC})
	f.Fuzz(func(t *testing.T, c uint8, payload []byte) {
		codec := Codec(c % (uint8(CodecAV1) + 2))
		got := IsKeyframe(codec.String(), payload)
		if got != codec.IsKeyframe(payload) {
			t.Fatal("IsKeyframe(mime) disagrees with Codec.IsKeyframe")
		}
		if got && !codec.IsVideo() {
			t.Fatalf("%s reported a keyframe", codec)
		}
		if got && len(payload) == 0 {
			t.Fatal("keyframe in empty payload")
		}
		_, _, _ = ParseAudioLevel(payload)
	})
}
