package sfu

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu/buffer"
	"github.com/edgemesh/edge/sfu/codec"
)

const testOutSSRC = 5555

// newBoundDownTrack returns a VP8 down-track on a fake source, bound to a
// recording writer with payload type 100.
func newBoundDownTrack(t *testing.T, maxLayer int32) (*DownTrack, *fakeSource, *recordingWriter, *Counters) {
	t.Helper()
	src := newFakeSource(webrtc.RTPCodecTypeVideo, vp8Codec)
	counters := &Counters{}
	dt, err := NewDownTrack(DownTrackParams{
		Source: src, SubscriberID: "PA_sub", StreamID: "PA_pub|TR_fake",
		MaxLayer: maxLayer, Counters: counters, Logger: zerolog.Nop(),
	})
	require.NoError(t, err)
	t.Cleanup(dt.Close)
	w := &recordingWriter{}
	negotiated := vp8Codec
	negotiated.PayloadType = 100
	c, err := dt.Bind(&fakeContext{codecs: []webrtc.RTPCodecParameters{opusCodec, negotiated}, ssrc: testOutSSRC, writer: w})
	require.NoError(t, err)
	require.Equal(t, webrtc.PayloadType(100), c.PayloadType)
	return dt, src, w, counters
}

func newVP8Buffer(ssrc uint32) *buffer.Buffer {
	return buffer.New(buffer.Params{SSRC: ssrc, ClockRate: 90000, MimeType: codec.MimeVP8})
}

func TestDownTrackTrackLocal(t *testing.T) {
	t.Parallel()
	src := newFakeSource(webrtc.RTPCodecTypeAudio, opusCodec)
	dt, err := NewDownTrack(DownTrackParams{Source: src, StreamID: "PA_a|TR_fake", Logger: zerolog.Nop()})
	require.NoError(t, err)
	require.Equal(t, "TR_fake", dt.ID())
	require.Equal(t, "PA_a|TR_fake", dt.StreamID())
	require.Empty(t, dt.RID())
	require.Equal(t, webrtc.RTPCodecTypeAudio, dt.Kind())
	require.Equal(t, []PacketSink{dt}, src.added)

	_, err = dt.Bind(&fakeContext{codecs: []webrtc.RTPCodecParameters{vp8Codec}})
	require.ErrorIs(t, err, ErrCodecNotNegotiated)

	other := opusCodec
	other.SDPFmtpLine = "minptime=10"
	other.PayloadType = 109
	c, err := dt.Bind(&fakeContext{codecs: []webrtc.RTPCodecParameters{vp8Codec, other, opusCodec}})
	require.NoError(t, err)
	require.Equal(t, webrtc.PayloadType(111), c.PayloadType, "exact fmtp match preferred")

	_, err = NewDownTrack(DownTrackParams{})
	require.ErrorIs(t, err, ErrNoSource)
}

func TestDownTrackRewritesPackets(t *testing.T) {
	t.Parallel()
	src := newFakeSource(webrtc.RTPCodecTypeVideo, vp8Codec)
	counters := &Counters{}
	dt, err := NewDownTrack(DownTrackParams{Source: src, MaxLayer: LayerLow, Counters: counters, Logger: zerolog.Nop()})
	require.NoError(t, err)
	b := newVP8Buffer(1000)
	now := time.Now()
	// Before Bind everything is dropped.
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 10, 900, 5, true, now), LayerLow)
	require.Equal(t, uint64(1), counters.PacketsDropped.Load())

	w := &recordingWriter{}
	_, err = dt.Bind(&fakeContext{codecs: []webrtc.RTPCodecParameters{vp8Codec}, ssrc: testOutSSRC, writer: w})
	require.NoError(t, err)
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 11, 900, 6, false, now), LayerLow) // waits for a keyframe
	for i := range uint16(4) {
		dt.WriteRTP(pushVP8(src, b, 0, 1000, 12+i, 1000+uint32(i)*3000, 7+i, i == 0, now), LayerLow)
	}
	pkts := w.packets()
	require.Len(t, pkts, 4)
	for i, p := range pkts {
		require.Equal(t, uint32(testOutSSRC), p.SSRC)
		require.Equal(t, uint8(96), p.PayloadType)
		require.Equal(t, uint16(12+i), p.SequenceNumber)
		require.False(t, p.Extension, "publisher extensions stripped")
		require.Empty(t, p.Extensions)
		var v codec.VP8
		require.NoError(t, codec.ParseVP8(p.Payload, &v))
		require.Equal(t, uint16(7+i), v.PictureID)
		require.True(t, v.MBit)
		require.Equal(t, []byte{0x11, 0x22, 0x33}, p.Payload[v.HeaderSize+1:])
	}
	require.Equal(t, uint64(4), counters.PacketsOut.Load())
	require.Equal(t, uint64(2), counters.PacketsDropped.Load())
	require.Equal(t, LayerLow, dt.CurrentLayer())
	st := dt.Stats()
	require.Equal(t, uint64(4), st.PacketsSent)
	require.Equal(t, uint64(2), st.PacketsDropped)
}

func marshal(t *testing.T, p rtp.Packet) []byte {
	t.Helper()
	raw, err := p.Marshal()
	require.NoError(t, err)
	return raw
}

func TestDownTrackNACKRetransmitsSameBytes(t *testing.T) {
	t.Parallel()
	dt, src, w, counters := newBoundDownTrack(t, LayerLow)
	b0, b2 := newVP8Buffer(1000), newVP8Buffer(3000)
	now := time.Now()
	sn0, sn2 := uint16(65530), uint16(200)
	ts0, ts2 := uint32(0), uint32(7777777)
	for frame := range 12 {
		if frame == 4 {
			dt.SetMaxLayer(LayerHigh)
		}
		now = now.Add(33 * time.Millisecond)
		dt.WriteRTP(pushVP8(src, b0, 0, 1000, sn0, ts0, uint16(frame)&0x7F, frame == 0, now), LayerLow)
		dt.WriteRTP(pushVP8(src, b2, 2, 3000, sn2, ts2, uint16(900+frame), frame == 7, now), LayerHigh)
		sn0++
		sn2++
		ts0 += 3000
		ts2 += 3000
	}
	require.Equal(t, LayerHigh, dt.CurrentLayer())
	sent := w.packets()
	// Layer 0 for frames 0..7 (the switch happens at layer 2's keyframe in
	// frame 7, after layer 0's packet of that frame), layer 2 for 7..11.
	require.Len(t, sent, 13)
	require.Contains(t, src.keyframeRequests(), LayerHigh)

	nack := &rtcp.TransportLayerNack{MediaSSRC: testOutSSRC}
	for _, p := range sent {
		nack.Nacks = append(nack.Nacks, rtcp.NackPair{PacketID: p.SequenceNumber})
	}
	nack.Nacks = append(nack.Nacks, rtcp.NackPair{PacketID: sent[len(sent)-1].SequenceNumber + 100})
	dt.handleRTCP([]rtcp.Packet{nack}, now)

	all := w.packets()
	require.Len(t, all, 2*len(sent))
	for i, p := range all[len(sent):] {
		require.Equal(t, marshal(t, sent[i]), marshal(t, p), "retransmission %d differs", i)
	}
	require.Equal(t, uint64(len(sent)+1), counters.NACKsIn.Load())
	require.Equal(t, uint64(len(sent)), counters.Retransmits.Load())
	require.Equal(t, uint64(1), counters.RetransmitMisses.Load())
}

func TestDownTrackPLIGoesToCurrentLayer(t *testing.T) {
	t.Parallel()
	dt, src, _, counters := newBoundDownTrack(t, LayerMid)
	dt.handleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: testOutSSRC}}, time.Now())
	require.Empty(t, src.keyframeRequests(), "no layer chosen yet: the forwarder asks by itself")

	b := newVP8Buffer(2000)
	dt.WriteRTP(pushVP8(src, b, 1, 2000, 1, 1, 1, true, time.Now()), LayerMid)
	require.Equal(t, LayerMid, dt.CurrentLayer())
	dt.SetMaxLayer(LayerLow)
	dt.handleRTCP([]rtcp.Packet{&rtcp.FullIntraRequest{FIR: []rtcp.FIREntry{{SSRC: testOutSSRC}}}}, time.Now())
	dt.handleRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 1}}, time.Now()) // not ours
	kf := src.keyframeRequests()
	require.Equal(t, LayerMid, kf[len(kf)-1], "the layer being forwarded")
	require.Equal(t, uint64(2), counters.PLIsIn.Load())
}

func TestDownTrackSenderAndReceiverReports(t *testing.T) {
	t.Parallel()
	dt, src, w, _ := newBoundDownTrack(t, LayerHigh)
	b := newVP8Buffer(3000)
	t0 := time.Now()
	// Start on layer 1, then switch to 2 so the timestamp offset is not zero.
	b1 := newVP8Buffer(2000)
	dt.WriteRTP(pushVP8(src, b1, 1, 2000, 1, 50, 1, true, t0), LayerMid)
	dt.WriteRTP(pushVP8(src, b, 2, 3000, 100, 123456, 1, true, t0.Add(40*time.Millisecond)), LayerHigh)
	sent := w.packets()
	require.Len(t, sent, 2)
	offset := uint32(123456) - sent[1].Timestamp

	_, ok := dt.buildSenderReport(t0)
	require.False(t, ok, "no publisher SR yet")
	srcSR := buffer.SenderReport{NTPTime: 0xE000_0000_8000_0000, RTPTime: 120000, Arrival: t0}
	src.sr[LayerHigh] = srcSR
	now := t0.Add(500 * time.Millisecond)
	sr, ok := dt.buildSenderReport(now)
	require.True(t, ok)
	require.Equal(t, uint32(testOutSSRC), sr.SSRC)
	require.Equal(t, srcSR.NTPTime+durationToNTP(500*time.Millisecond), sr.NTPTime)
	require.Equal(t, uint32(120000+45000)-offset, sr.RTPTime)
	require.Equal(t, uint32(2), sr.PacketCount)

	// The subscriber echoes the SR 100 ms after receiving it; RTT 50 ms.
	rr := &rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{
		SSRC: testOutSSRC, FractionLost: 64, TotalLost: 3, Jitter: 900,
		LastSenderReport: uint32(sr.NTPTime >> 16), Delay: 6554, // 100 ms in 1/65536 s
	}}}
	dt.handleRTCP([]rtcp.Packet{rr}, now.Add(150*time.Millisecond))
	st := dt.Stats()
	require.InDelta(t, 0.25, st.FractionLost, 1e-9)
	require.Equal(t, uint32(3), st.PacketsLost)
	require.Equal(t, 10*time.Millisecond, st.Jitter)
	require.InDelta(t, float64(50*time.Millisecond), float64(st.RTT), float64(time.Millisecond))
}

func TestDownTrackCloseAndWriteErrors(t *testing.T) {
	t.Parallel()
	dt, src, w, counters := newBoundDownTrack(t, LayerLow)
	b := newVP8Buffer(1000)
	w.err = errors.New("boom")
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 1, 1, 1, true, time.Now()), LayerLow)
	require.Equal(t, uint64(1), counters.PacketsDropped.Load())
	require.Zero(t, counters.PacketsOut.Load())

	closes := 0
	dt.OnClose(func() { closes++ })
	dt.Close()
	dt.Close()
	require.Equal(t, 1, closes)
	require.Equal(t, []PacketSink{dt}, src.removed)
	require.Equal(t, LayerNone, dt.WantedLayer())
	late := false
	dt.OnClose(func() { late = true })
	require.True(t, late, "OnClose after Close runs at once")
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 2, 2, 2, false, time.Now()), LayerLow)
	require.Equal(t, uint64(2), counters.PacketsDropped.Load())
}

func TestReceiverDynacastAndClose(t *testing.T) {
	t.Parallel()
	var changes []int32
	r := NewReceiver(ReceiverParams{
		TrackID: "TR_v", Kind: webrtc.RTPCodecTypeVideo, Codec: vp8Codec,
		OnMaxLayerChanged: func(l int32) { changes = append(changes, l) },
		Logger:            zerolog.Nop(),
	})
	receiverClosed := 0
	r.OnClose(func() { receiverClosed++ })
	d1, err := NewDownTrack(DownTrackParams{Source: r, MaxLayer: LayerLow, Logger: zerolog.Nop()})
	require.NoError(t, err)
	d2, err := NewDownTrack(DownTrackParams{Source: r, MaxLayer: MaxLayerAuto, Logger: zerolog.Nop()})
	require.NoError(t, err)
	require.Equal(t, 2, r.NumSinks())
	d2.SetPaused(true)
	d1.SetMaxLayer(LayerMid)
	d1.SetMaxLayer(LayerMid) // unchanged: no callback
	d1.Close()
	d2.SetPaused(false)
	d2closed := false
	d2.OnClose(func() { d2closed = true })
	r.Close()
	r.Close()
	require.Equal(t, []int32{0, 2, 0, 1, -1, 2, -1}, changes)
	require.True(t, d2closed)
	require.Zero(t, r.NumSinks())
	require.Equal(t, 1, receiverClosed)
	_, err = NewDownTrack(DownTrackParams{Source: r, Logger: zerolog.Nop()})
	require.ErrorIs(t, err, ErrReceiverClosed)
	require.ErrorIs(t, r.AddLayer(0, nil, nil), ErrLayerNotFound)
	require.ErrorIs(t, r.AddLayer(3, nil, nil), ErrInvalidLayer)
	_, err = r.ReadPacket(0, 1, make([]byte, 10))
	require.ErrorIs(t, err, ErrLayerNotFound)
	level, active := r.AudioLevel()
	require.Zero(t, level)
	require.False(t, active)
}
