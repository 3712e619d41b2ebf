package buffer

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// benchPacket is a typical 1200-byte VP8 video packet with two one-byte
// header extensions (abs-send-time style and transport-cc style).
func benchPacket(b *testing.B) []byte {
	b.Helper()
	payload := make([]byte, 1150)
	copy(payload, vp8Inter)
	p := &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 96, SSRC: testSSRC, Marker: true},
		Payload: payload,
	}
	if err := p.SetExtension(3, []byte{1, 2, 3}); err != nil {
		b.Fatal(err)
	}
	if err := p.SetExtension(5, []byte{0, 1}); err != nil {
		b.Fatal(err)
	}
	raw, err := p.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func BenchmarkPush(b *testing.B) {
	raw := benchPacket(b)
	buf := New(Params{SSRC: testSSRC, MimeType: "video/VP8", AudioLevelExtID: 1})
	now := time.Now()
	var sn uint16
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		sn++
		binary.BigEndian.PutUint16(raw[2:], sn)
		binary.BigEndian.PutUint32(raw[4:], uint32(sn)*3000)
		if _, err := buf.Push(raw, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadPacket(b *testing.B) {
	raw := benchPacket(b)
	buf := New(Params{SSRC: testSSRC, MimeType: "video/VP8"})
	now := time.Now()
	for sn := range uint16(512) {
		binary.BigEndian.PutUint16(raw[2:], sn)
		if _, err := buf.Push(raw, now); err != nil {
			b.Fatal(err)
		}
	}
	dst := make([]byte, 1500)
	var i uint16
	b.ReportAllocs()
	for b.Loop() {
		i++
		if _, err := buf.ReadPacket(dst, i%512); err != nil {
			b.Fatal(err)
		}
	}
}
