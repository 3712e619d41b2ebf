package sfu

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/sfu/buffer"
	"github.com/edgemesh/edge/sfu/codec"
)

// BenchmarkFanOut measures the per-packet hot path: one received VP8 packet
// written to N bound down-tracks (forwarder decision, sequencer record, VP8
// descriptor munging, header rewrite, write to a no-op TrackLocalWriter).
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			src := newFakeSource(webrtc.RTPCodecTypeVideo, vp8Codec)
			w := &countingWriter{}
			dts := make([]*DownTrack, n)
			for i := range dts {
				dt, err := NewDownTrack(DownTrackParams{Source: src, MaxLayer: LayerHigh, Logger: zerolog.Nop()})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := dt.Bind(&fakeContext{
					codecs: []webrtc.RTPCodecParameters{vp8Codec}, ssrc: webrtc.SSRC(1000 + i), writer: w,
				}); err != nil {
					b.Fatal(err)
				}
				dts[i] = dt
			}
			p := &buffer.ExtPacket{
				Arrival:  time.Now().UnixNano(),
				ExtSeq:   1,
				KeyFrame: true,
				Payload:  make([]byte, 1100),
			}
			p.Payload[0], p.Payload[1], p.Payload[2], p.Payload[3] = 0x90, 0x80, 0x81, 0x00
			p.Header.SequenceNumber, p.Header.Timestamp, p.Header.SSRC = 1, 90000, 42
			if err := codec.ParseVP8(p.Payload, &p.VP8); err != nil {
				b.Fatal(err)
			}
			for _, dt := range dts {
				dt.WriteRTP(p, LayerHigh) // keyframe: start forwarding
			}
			p.KeyFrame = false
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.ExtSeq++
				p.Header.SequenceNumber++
				if i%4 == 0 {
					p.Header.Timestamp += 3000
					p.VP8.PictureID = (p.VP8.PictureID + 1) & 0x7FFF
				}
				p.Arrival += 1000
				for _, dt := range dts {
					dt.WriteRTP(p, LayerHigh)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/downtrack")
			if got := w.n.Load(); got != uint64(b.N+1)*uint64(n) {
				b.Fatalf("wrote %d packets, want %d", got, uint64(b.N+1)*uint64(n))
			}
		})
	}
}
