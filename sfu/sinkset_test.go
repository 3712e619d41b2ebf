package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu/buffer"
)

func TestLayerMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		mask  LayerMask
		max   int32
		count int
		has   [NumLayers]bool
	}{
		{"empty", 0, LayerNone, 0, [NumLayers]bool{}},
		{"low", LayerBit(LayerLow), LayerLow, 1, [NumLayers]bool{true, false, false}},
		{"low+high", LayerBit(LayerLow) | LayerBit(LayerHigh), LayerHigh, 2, [NumLayers]bool{true, false, true}},
		{"mid", LayerBit(LayerMid), LayerMid, 1, [NumLayers]bool{false, true, false}},
		{"all", AllLayers, LayerHigh, 3, [NumLayers]bool{true, true, true}},
		{"stray high bits ignored", 0xF8, LayerNone, 0, [NumLayers]bool{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.max, tc.mask.Max())
			require.Equal(t, tc.count, tc.mask.Count())
			for l := range int32(NumLayers) {
				require.Equal(t, tc.has[l], tc.mask.Has(l), "layer %d", l)
			}
			require.False(t, tc.mask.Has(LayerNone))
		})
	}
	require.Zero(t, LayerBit(LayerNone))
	require.Zero(t, LayerBit(NumLayers))
}

// testSink is a PacketSink recording what it is given.
type testSink struct {
	mu     sync.Mutex
	want   LayerMask
	layers []int32
	closed int
}

func (s *testSink) WriteRTP(_ *buffer.ExtPacket, layer int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.layers = append(s.layers, layer)
}

func (s *testSink) WantedLayer() int32 { return s.WantedLayers().Max() }

func (s *testSink) WantedLayers() LayerMask {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.want
}

func (s *testSink) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed++
}

func TestSinkSet(t *testing.T) {
	t.Parallel()
	var set SinkSet
	require.Zero(t, set.Len())
	require.Equal(t, LayerNone, set.MaxWanted())
	set.WriteRTP(&buffer.ExtPacket{}, LayerLow) // empty set: no-op

	a := &testSink{want: LayerBit(LayerLow)}
	b := &testSink{want: LayerBit(LayerHigh)}
	require.True(t, set.Add(a))
	require.False(t, set.Add(a))
	require.True(t, set.Add(b))
	require.Equal(t, 2, set.Len())
	require.Equal(t, LayerHigh, set.MaxWanted())
	require.Equal(t, LayerBit(LayerLow)|LayerBit(LayerHigh), set.WantedLayers())

	set.WriteRTP(&buffer.ExtPacket{}, LayerMid)
	require.Equal(t, []int32{LayerMid}, a.layers)
	require.Equal(t, []int32{LayerMid}, b.layers)

	require.True(t, set.Remove(a))
	require.False(t, set.Remove(a))
	require.Equal(t, []PacketSink{b}, set.Sinks())
	require.Equal(t, LayerBit(LayerHigh), set.WantedLayers())

	require.Equal(t, []PacketSink{b}, set.Detach())
	require.Zero(t, set.Len())
	require.Empty(t, set.Detach())
}

// TestReceiverGenericSink checks that a sink other than a DownTrack counts for
// dynacast and is closed with the receiver.
func TestReceiverGenericSink(t *testing.T) {
	t.Parallel()
	var changes []int32
	r := NewReceiver(ReceiverParams{
		TrackID: "TR_v", Kind: webrtc.RTPCodecTypeVideo, Codec: vp8Codec,
		OnMaxLayerChanged: func(l int32) { changes = append(changes, l) },
		Logger:            zerolog.Nop(),
	})
	require.Zero(t, r.Layers())
	s := &testSink{want: LayerBit(LayerMid)}
	require.NoError(t, r.AddSink(s))
	require.NoError(t, r.AddSink(s)) // no-op
	require.Equal(t, 1, r.NumSinks())
	s.mu.Lock()
	s.want = LayerBit(LayerLow) | LayerBit(LayerHigh)
	s.mu.Unlock()
	r.SinkChanged(s)
	r.RemoveSink(s)
	r.RemoveSink(s) // unknown: no-op
	require.NoError(t, r.AddSink(s))
	r.Close()
	require.Equal(t, 1, s.closed)
	require.Equal(t, []int32{LayerMid, LayerHigh, LayerNone, LayerHigh, LayerNone}, changes)
	require.ErrorIs(t, r.AddSink(s), ErrReceiverClosed)
}

// TestDownTrackWantedLayers checks the layer set a down-track reports while
// it switches layers, and that the switch is reported to the source.
func TestDownTrackWantedLayers(t *testing.T) {
	t.Parallel()
	dt, src, _, _ := newBoundDownTrack(t, LayerLow)
	b0, b2 := newVP8Buffer(1000), newVP8Buffer(1002)
	now := time.Now()
	require.Equal(t, LayerBit(LayerLow), dt.WantedLayers())
	require.Equal(t, LayerLow, dt.WantedLayer())

	dt.WriteRTP(pushVP8(src, b0, 0, 1000, 1, 100, 1, true, now), LayerLow)
	require.Equal(t, LayerLow, dt.CurrentLayer())
	require.Equal(t, 1, src.changed, "the first forwarded layer is reported")

	dt.SetMaxLayer(LayerHigh)
	require.Equal(t, 2, src.changed)
	require.Equal(t, LayerBit(LayerLow)|LayerBit(LayerHigh), dt.WantedLayers(), "keeps the current layer while switching")
	require.Equal(t, LayerHigh, dt.WantedLayer())

	dt.WriteRTP(pushVP8(src, b2, 2, 1002, 1, 100, 1, false, now.Add(time.Millisecond)), LayerHigh)
	require.Equal(t, LayerLow, dt.CurrentLayer(), "no keyframe yet")
	dt.WriteRTP(pushVP8(src, b2, 2, 1002, 2, 3100, 2, true, now.Add(2*time.Millisecond)), LayerHigh)
	require.Equal(t, LayerHigh, dt.CurrentLayer())
	require.Equal(t, 3, src.changed)
	require.Equal(t, LayerBit(LayerHigh), dt.WantedLayers())

	dt.SetPaused(true)
	require.Zero(t, dt.WantedLayers())
	require.Equal(t, LayerNone, dt.WantedLayer())
	dt.SetPaused(false)
	dt.Close()
	require.Zero(t, dt.WantedLayers())
}

func TestDownTrackWantedLayersAudio(t *testing.T) {
	t.Parallel()
	src := newFakeSource(webrtc.RTPCodecTypeAudio, opusCodec)
	dt, err := NewDownTrack(DownTrackParams{Source: src, MaxLayer: MaxLayerAuto, Logger: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(dt.Close)
	require.Equal(t, LayerBit(LayerLow), dt.WantedLayers())
	require.Equal(t, LayerLow, dt.WantedLayer())
}
