package relay

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/buffer"
)

// vp8Packet returns a marshalled VP8 RTP packet (a keyframe) of size bytes.
func vp8Packet(b testing.TB, size int) []byte {
	b.Helper()
	payload := make([]byte, size)
	copy(payload, []byte{0x90, 0x80, 0x80, 0x01, 0x00, 0x11, 0x22, 0x33})
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1,
		Timestamp: 3000, SSRC: ssrcOf(0)}, Payload: payload}).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkFeedWriteRTP measures the serving side's per-packet work: the
// feed's layer filter, the copy into a pooled datagram buffer and the queue
// hand-off to the link's writer (drained here in the same goroutine, without
// quic-go).
func BenchmarkFeedWriteRTP(b *testing.B) {
	e := &Endpoint{}
	e.bufs.New = func() any { return new(packetBuf) }
	l := &link{ep: e, c: &peerCounters{}, media: make(chan *packetBuf, 16)}
	f := &feed{l: l, slot: 300, clockRate: 90000}
	f.forward.Store(uint32(sfu.AllLayers))
	buf := buffer.New(buffer.Params{SSRC: ssrcOf(0), MimeType: webrtc.MimeTypeVP8})
	p, err := buf.Push(vp8Packet(b, 1000), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f.WriteRTP(p, sfu.LayerMid)
		e.putBuf(<-l.media)
	}
}

// benchTrack returns a RemoteTrack ready to ingest VP8, outside any link.
func benchTrack(b testing.TB) *RemoteTrack {
	b.Helper()
	e := &Endpoint{cfg: Config{NodeID: "bench", Logger: zerolog.Nop()}.withDefaults()}
	rt := newRemoteTrack(newPeer(e, "peer"), "TR_bench", "")
	rt.kind, rt.codec, rt.metaSet = webrtc.RTPCodecTypeVideo, vp8Codec, true
	b.Cleanup(rt.Close)
	return rt
}

// BenchmarkIngest measures the subscribing side's per-packet work: the
// relayed packet is pushed into the layer's receive buffer, tracked for
// NACKs and fanned out to N bound down-tracks (forwarder, munging, write to
// a no-op writer) — the same fan-out a local Receiver does.
func BenchmarkIngest(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			rt := benchTrack(b)
			w := &countingWriter{}
			for i := range n {
				dt, err := sfu.NewDownTrack(sfu.DownTrackParams{Source: rt, MaxLayer: sfu.LayerLow, Logger: zerolog.Nop()})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := dt.Bind(&fakeContext{codecs: []webrtc.RTPCodecParameters{vp8Codec},
					ssrc: webrtc.SSRC(100 + i), writer: w}); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(dt.Close)
			}
			raw := vp8Packet(b, 1000)
			now := time.Now()
			rt.ingest(sfu.LayerLow, raw, now) // keyframe: forwarding starts
			raw[12+4] = 0x01                  // later packets are delta frames
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				seq := binary.BigEndian.Uint16(raw[2:]) + 1
				binary.BigEndian.PutUint16(raw[2:], seq)
				if i%4 == 0 {
					binary.BigEndian.PutUint32(raw[4:], binary.BigEndian.Uint32(raw[4:])+3000)
				}
				now = now.Add(100 * time.Microsecond)
				rt.ingest(sfu.LayerLow, raw, now)
			}
			b.StopTimer()
			if got := w.n.Load(); got < uint64(b.N*n) {
				b.Fatalf("wrote %d packets, want %d", got, b.N*n)
			}
		})
	}
}

// countingWriter is an allocation-free webrtc.TrackLocalWriter.
type countingWriter struct{ n atomic.Uint64 }

func (w *countingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n.Add(1)
	return h.MarshalSize() + len(payload), nil
}

func (w *countingWriter) Write(b []byte) (int, error) { return len(b), nil }

// latencySink records, per relayed packet, the time from its push at A's
// source to its arrival in B's fan-out.
type latencySink struct {
	sent      []atomic.Int64 // push time by packet index, unix ns
	lat       []int64        // latency by packet index, ns (fan-out goroutine only)
	firstSeq  uint16
	delivered atomic.Int64
}

func (s *latencySink) WriteRTP(p *buffer.ExtPacket, _ int32) {
	i := int(p.Header.SequenceNumber - s.firstSeq)
	if i < len(s.lat) && s.lat[i] == 0 {
		s.lat[i] = time.Now().UnixNano() - s.sent[i].Load()
		s.delivered.Add(1)
	}
}
func (s *latencySink) WantedLayer() int32          { return sfu.LayerLow }
func (s *latencySink) WantedLayers() sfu.LayerMask { return sfu.LayerBit(sfu.LayerLow) }
func (s *latencySink) Close()                      {}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRelayHop relays packets over a real QUIC link on loopback, from
// A's source fan-out to B's RemoteTrack fan-out, paced at burst packets every
// millisecond. It reports the added latency of the hop (p50, p99, max), the
// process CPU time per relayed packet (both nodes, quic-go and TLS
// included) and, through -benchmem, allocations per relayed packet (quic-go
// included: it copies every datagram on both sides).
func BenchmarkRelayHop(b *testing.B) {
	for _, burst := range []int{1, 10} {
		b.Run(fmt.Sprintf("pps=%d", burst*1000), func(b *testing.B) {
			if b.N > 60000 {
				b.Skip("at most 60000 packets: sequence numbers index the results")
			}
			video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.LayerBit(sfu.LayerLow))
			a := newEndpoint(b, "node-a", newTrackMap(video))
			bn := newEndpoint(b, "node-b", nil)
			rt := subscribe(b, dial(b, bn, a), "TR_video")
			sink := &latencySink{sent: make([]atomic.Int64, b.N), lat: make([]int64, b.N),
				firstSeq: video.seq[sfu.LayerLow] + 1}
			if err := rt.AddSink(sink); err != nil {
				b.Fatal(err)
			}
			for video.maxWanted.Load() != sfu.LayerLow {
				time.Sleep(time.Millisecond)
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; {
				for j := 0; j < burst && i < b.N; j++ {
					sink.sent[i].Store(time.Now().UnixNano())
					video.push(sfu.LayerLow, i == 0, 1000, time.Now())
					i++
				}
				time.Sleep(time.Millisecond)
			}
			deadline := time.Now().Add(5 * time.Second)
			for sink.delivered.Load() < int64(b.N) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			got := int(sink.delivered.Load())
			if got < b.N*99/100 {
				b.Fatalf("delivered %d of %d packets", got, b.N)
			}
			lat := slices.DeleteFunc(slices.Clone(sink.lat), func(v int64) bool { return v == 0 })
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
			b.ReportMetric(float64(lat[len(lat)-1])/1e3, "max-µs")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(got), "cpu-ns/pkt")
			b.ReportMetric(float64(b.N-got), "lost")
		})
	}
}
