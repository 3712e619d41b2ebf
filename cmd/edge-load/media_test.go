package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/stretchr/testify/require"
)

func TestVP8SourceKeyframeScheduleAndBitrate(t *testing.T) {
	for _, spec := range simulcastLayers() {
		t.Run(spec.rid, func(t *testing.T) {
			src := newVP8Source(spec, 7)
			frames := int(keyframeInterval.Seconds() * videoFPS)
			total := 0
			for i := range 2 * frames {
				s, err := src.NextSample(context.Background())
				require.NoError(t, err)
				require.Equal(t, time.Second/videoFPS, s.Duration)
				key := s.Data[0]&1 == 0
				require.Equal(t, i%frames == 0, key, "frame %d", i)
				if i < frames {
					total += len(s.Data)
				}
			}
			// One keyframe interval carries the layer's bitrate within 1%.
			want := float64(spec.bitrate) * keyframeInterval.Seconds() / 8
			require.InEpsilon(t, want, float64(total), 0.01)
			require.EqualValues(t, 2, src.keyframes.Load())
		})
	}
}

func TestVP8SourceKeyframeOnRequest(t *testing.T) {
	src := newVP8Source(simulcastLayers()[2], 1)
	ctx := context.Background()
	_, err := src.NextSample(ctx) // periodic keyframe
	require.NoError(t, err)
	s, err := src.NextSample(ctx)
	require.NoError(t, err)
	require.NotZero(t, s.Data[0]&1, "second frame is a delta frame")

	src.requestKeyframe()
	src.requestKeyframe() // two requests before the next frame give one keyframe
	s, err = src.NextSample(ctx)
	require.NoError(t, err)
	require.Zero(t, s.Data[0]&1, "frame after a PLI is a keyframe")
	s, err = src.NextSample(ctx)
	require.NoError(t, err)
	require.NotZero(t, s.Data[0]&1)
	require.EqualValues(t, 2, src.plis.Load())
	require.EqualValues(t, 2, src.keyframes.Load())
}

func TestSourcesEndWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newVP8Source(simulcastLayers()[0], 1).NextSample(ctx)
	require.ErrorIs(t, err, io.EOF)
	_, err = newOpusSource(1).NextSample(ctx)
	require.ErrorIs(t, err, io.EOF)
}

func TestOpusSource(t *testing.T) {
	s, err := newOpusSource(3).NextSample(context.Background())
	require.NoError(t, err)
	require.Equal(t, opusFrame, s.Duration)
	require.Len(t, s.Data, 80) // 32 kbit/s × 20 ms
	require.Equal(t, byte(opusTOC), s.Data[0])
}

func TestWriteVP8Header(t *testing.T) {
	tests := []struct {
		name string
		key  bool
		size int
		want []byte
	}{
		// size 110: first partition (110-10)/5 = 20 → tag 20<<5 | 1<<4 = 0x290.
		{"keyframe", true, 110, []byte{0x90, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02}},
		// size 103: (103-3)/5 = 20 → 0x291 with the inter bit.
		{"inter", false, 103, []byte{0x91, 0x02, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := make([]byte, tt.size)
			writeVP8Header(b, tt.key, 1280, 720)
			require.Equal(t, tt.want, b[:len(tt.want)])
		})
	}
}

// TestKeyframeSurvivesPacketization checks that a frame from the source, packetized as the SDK
// does (pion VP8 payloader with picture IDs), is recognised as a keyframe with its dimensions.
func TestKeyframeSurvivesPacketization(t *testing.T) {
	for _, spec := range simulcastLayers() {
		src := newVP8Source(spec, 9)
		s, err := src.NextSample(context.Background())
		require.NoError(t, err)
		pay := &codecs.VP8Payloader{EnablePictureID: true}
		parts := pay.Payload(1200, s.Data)
		require.NotEmpty(t, parts)
		w, h, ok := vp8Keyframe(parts[0])
		require.True(t, ok, spec.rid)
		require.Equal(t, spec.width, w)
		require.Equal(t, spec.height, h)
		for _, p := range parts[1:] {
			_, _, ok := vp8Keyframe(p)
			require.False(t, ok, "continuation packets do not start a frame")
		}
		s, err = src.NextSample(context.Background())
		require.NoError(t, err)
		_, _, ok = vp8Keyframe(pay.Payload(1200, s.Data)[0])
		require.False(t, ok, "delta frame")
	}
}

func BenchmarkVP8SourceNextSample(b *testing.B) {
	src := newVP8Source(simulcastLayers()[2], 1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.NextSample(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
