package codec

import "testing"

func BenchmarkParseVP8(b *testing.B) {
	payload := []byte{0x90, 0xF0, 0x81, 0x23, 0x07, 0xB5, 0x00, 0x9d, 0x01, 0x2a}
	var v VP8
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseVP8(payload, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalVP8Descriptor(b *testing.B) {
	v := VP8{S: true, HasPictureID: true, PictureID: 1234, HasTL0PICIDX: true, TL0PICIDX: 7,
		HasTID: true, TID: 1, Y: true}
	dst := make([]byte, 8)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.MarshalDescriptor(dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIsKeyframe(b *testing.B) {
	cases := []struct {
		mime    string
		payload []byte
	}{
		{MimeVP8, []byte{0x90, 0x80, 0x81, 0x23, 0x00, 0x9d}},
		{MimeH264, []byte{0x78, 0x00, 0x02, 0x68, 0xCE, 0x00, 0x02, 0x65, 0x88}},
		{MimeVP9, []byte{0xA8, 0x81, 0x12, 0x00, 0x05}},
		{MimeAV1, []byte{0x18, 0x0A}},
	}
	for _, c := range cases {
		b.Run(c.mime, func(b *testing.B) {
			codec := CodecFromMime(c.mime)
			b.ReportAllocs()
			for b.Loop() {
				if !codec.IsKeyframe(c.payload) {
					b.Fatal("expected keyframe")
				}
			}
		})
		b.Run(c.mime+"/by-mime", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !IsKeyframe(c.mime, c.payload) {
					b.Fatal("expected keyframe")
				}
			}
		})
	}
}

func BenchmarkParseAudioLevel(b *testing.B) {
	ext := []byte{0x80 | 42}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseAudioLevel(ext); err != nil {
			b.Fatal(err)
		}
	}
}
