package integration

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/stretchr/testify/require"
)

// TestSyntheticVP8 checks the synthetic media itself (no node involved): frames packetized by
// pion's VP8 payloader, as the SDK does, classify back to their layer, counter, keyframe flag and
// resolution on every packet, and the frame tag follows RFC 6386 §9.1.
func TestSyntheticVP8(t *testing.T) {
	for i, l := range simulcastLayers() {
		for _, key := range []bool{true, false} {
			size := l.deltaSize
			if key {
				size = l.keySize
			}
			frame := buildVP8Frame(i, l, 4242, key, size)
			require.Len(t, frame, size)
			tag := uint32(frame[0]) | uint32(frame[1])<<8 | uint32(frame[2])<<16
			require.Equal(t, !key, tag&1 == 1, "P bit")
			require.Equal(t, uint32(1), tag>>4&1, "show_frame")
			hdr := vp8TagLen
			if key {
				hdr += vp8KeyHeaderLen
			}
			require.Equal(t, uint32(size-hdr), tag>>5, "first_part_size")

			payloader := &codecs.VP8Payloader{EnablePictureID: true}
			payloads := payloader.Payload(1200-12, frame)
			require.Equal(t, (size+1200-12-4-1)/(1200-12-4), len(payloads), "packets per frame")
			for j, p := range payloads {
				var rec rtpRecord
				require.NoError(t, classifyVP8(&rtp.Packet{Payload: p}, &rec), "layer %d key %v packet %d", i, key, j)
				require.Equal(t, i, rec.layer)
				require.Equal(t, j == 0, rec.frameStart)
				if j == 0 {
					require.Equal(t, key, rec.keyframe)
					require.Equal(t, uint32(4242), rec.counter)
					if key {
						require.Equal(t, l.width, rec.width)
						require.Equal(t, l.height, rec.height)
					}
				}
			}
		}
	}

	var rec rtpRecord
	require.NoError(t, classifyVP8(&rtp.Packet{}, &rec))
	require.True(t, rec.padding, "empty payload is padding")
	require.Error(t, classifyVP8(&rtp.Packet{Payload: []byte{0x90, 0x80, 0x80, 0x01, 0x00, 0x00, 0x00}}, &rec),
		"an unmarked frame must not classify")
}

// TestSwitchChecks makes sure the stream checks used by the media tests can fail.
func TestSwitchChecks(t *testing.T) {
	ok := []rtpRecord{
		{seq: 1, ts: 10, layer: 0, frameStart: true, keyframe: true, width: 320, height: 180},
		{seq: 2, ts: 20, layer: 0, frameStart: true},
		{seq: 3, ts: 30, layer: 2, frameStart: true, keyframe: true, width: 1280, height: 720},
		{seq: 4, ts: 30, layer: 2},
	}
	require.Len(t, layerSwitches(ok), 1)
	ft := &fakeReporter{}
	checkContinuity(ft, ok)
	checkKeyframeSwitches(ft, ok)
	require.Empty(t, ft.errors)

	for name, mutate := range map[string]func([]rtpRecord){
		"gap":             func(r []rtpRecord) { r[2].seq = 4; r[3].seq = 5 },
		"ts backwards":    func(r []rtpRecord) { r[2].ts = 5 },
		"switch on delta": func(r []rtpRecord) { r[2].keyframe = false },
		"wrong size":      func(r []rtpRecord) { r[2].width = 640 },
	} {
		recs := append([]rtpRecord(nil), ok...)
		mutate(recs)
		ft := &fakeReporter{}
		checkContinuity(ft, recs)
		checkKeyframeSwitches(ft, recs)
		require.Len(t, ft.errors, 1, name)
	}
}

// fakeReporter collects what a check reports.
type fakeReporter struct{ errors []string }

func (f *fakeReporter) Helper() {}

func (f *fakeReporter) Errorf(format string, args ...any) {
	f.errors = append(f.errors, sprintf(format, args...))
}
