package sfu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu/buffer"
)

func TestSelectLayer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		max   int32
		avail [NumLayers]bool
		want  int32
	}{
		{"all available, cap high", LayerHigh, [3]bool{true, true, true}, LayerHigh},
		{"all available, cap mid", LayerMid, [3]bool{true, true, true}, LayerMid},
		{"all available, cap low", LayerLow, [3]bool{true, true, true}, LayerLow},
		{"high paused: best below", LayerHigh, [3]bool{true, true, false}, LayerMid},
		{"only low", LayerHigh, [3]bool{true, false, false}, LayerLow},
		{"cap low, low missing: lowest above", LayerLow, [3]bool{false, true, true}, LayerMid},
		{"cap mid, only high", LayerMid, [3]bool{false, false, true}, LayerHigh},
		{"nothing known: aim for cap", LayerMid, [3]bool{}, LayerMid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, selectLayer(tc.max, tc.avail))
		})
	}
}

func TestForwarderLayerSwitching(t *testing.T) {
	t.Parallel()
	type step struct {
		frames     int
		active     uint8
		key        uint8
		setMax     int32 // applied before the frames; -2 = unchanged
		wantLayers []int32
	}
	const keep = int32(-2)
	cases := []struct {
		name  string
		start int32
		steps []step
	}{
		{
			name:  "waits for a keyframe",
			start: LayerHigh,
			steps: []step{
				{frames: 3, active: allLayers, key: 0, setMax: keep, wantLayers: []int32{-1, -1, -1}},
				{frames: 2, active: allLayers, key: bit(2), setMax: keep, wantLayers: []int32{2, 2}},
			},
		},
		{
			name:  "starts at the first keyframe up to the target, then moves up",
			start: LayerHigh,
			steps: []step{
				{frames: 3, active: allLayers, key: bit(1), setMax: keep, wantLayers: []int32{1, 1, 1}},
				{frames: 2, active: allLayers, key: bit(0), setMax: keep, wantLayers: []int32{1, 1}},
				{frames: 2, active: allLayers, key: bit(2), setMax: keep, wantLayers: []int32{2, 2}},
			},
		},
		{
			name:  "never starts above the target",
			start: LayerLow,
			steps: []step{
				{frames: 3, active: allLayers, key: bit(1) | bit(2), setMax: keep, wantLayers: []int32{-1, -1, -1}},
				{frames: 1, active: allLayers, key: bit(0), setMax: keep, wantLayers: []int32{0}},
			},
		},
		{
			name:  "low to high to low, each at a keyframe",
			start: LayerLow,
			steps: []step{
				{frames: 2, active: allLayers, key: allLayers, setMax: keep, wantLayers: []int32{0, 0}},
				{frames: 3, active: allLayers, key: 0, setMax: LayerHigh, wantLayers: []int32{0, 0, 0}},
				{frames: 1, active: allLayers, key: bit(1), setMax: keep, wantLayers: []int32{0}},
				{frames: 2, active: allLayers, key: bit(2), setMax: keep, wantLayers: []int32{2, 2}},
				{frames: 3, active: allLayers, key: 0, setMax: LayerLow, wantLayers: []int32{2, 2, 2}},
				{frames: 2, active: allLayers, key: bit(0), setMax: keep, wantLayers: []int32{0, 0}},
			},
		},
		{
			name:  "mid cap forwards mid",
			start: LayerMid,
			steps: []step{
				{frames: 3, active: allLayers, key: allLayers, setMax: keep, wantLayers: []int32{1, 1, 1}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.start)
			for i, st := range tc.steps {
				if st.setMax != keep {
					s.f.setMaxLayer(st.setMax, s.now)
				}
				first := s.frames
				s.framesN(st.frames, st.active, st.key)
				for j, want := range st.wantLayers {
					require.Equal(t, want, s.layerAt(first+j), "step %d frame %d", i, j)
				}
			}
			requireContinuous(t, s.forwarded())
		})
	}
}

func TestForwarderRequestsKeyframeForTarget(t *testing.T) {
	t.Parallel()
	s := newSim(t, LayerLow)
	s.framesN(2, allLayers, allLayers)
	require.Equal(t, LayerLow, s.f.current)
	require.Empty(t, s.keyframeRequests(), "started on a keyframe: nothing to request")

	require.Equal(t, LayerHigh, s.f.setMaxLayer(LayerHigh, s.now))
	require.Equal(t, LayerNone, s.f.setMaxLayer(LayerHigh, s.now), "same target: no new request")
	s.out = nil
	// No keyframe for > keyframeRetry: the request is repeated once per interval.
	s.framesN(int(2*keyframeRetry/simFrameInterval)+3, allLayers, 0)
	require.Equal(t, []int32{LayerHigh, LayerHigh}, s.keyframeRequests())
	require.Equal(t, LayerLow, s.f.current)
	require.Equal(t, LayerLow, s.f.keyframeLayer(), "PLI goes to the current layer")
}

func TestForwarderLayerFallback(t *testing.T) {
	t.Parallel()
	s := newSim(t, LayerHigh)
	s.framesN(3, allLayers, allLayers)
	require.Equal(t, LayerHigh, s.layerAt(2))

	// The publisher stops the high layer. Nothing changes until it has been
	// silent for layerTimeout; then the best layer below is used from its
	// next keyframe.
	silent := int(layerTimeout / simFrameInterval)
	s.framesN(silent+2, bit(0)|bit(1), 0)
	require.Equal(t, LayerNone, s.layerAt(s.frames-1), "no keyframe on mid yet")
	require.Equal(t, LayerMid, s.f.target)
	s.framesN(2, bit(0)|bit(1), bit(1))
	require.Equal(t, LayerMid, s.layerAt(s.frames-1))

	// High returns: the forwarder moves back up at its first keyframe.
	s.framesN(2, allLayers, 0)
	require.Equal(t, LayerMid, s.layerAt(s.frames-1))
	require.Equal(t, LayerHigh, s.f.target)
	s.framesN(2, allLayers, bit(2))
	require.Equal(t, LayerHigh, s.layerAt(s.frames-1))
	requireContinuous(t, s.forwarded())
}

func TestForwarderPauseResumeVideo(t *testing.T) {
	t.Parallel()
	s := newSim(t, LayerHigh)
	s.framesN(3, allLayers, allLayers)
	s.f.setPaused(true)
	s.framesN(20, allLayers, allLayers)
	for _, o := range s.out[len(s.out)-6:] {
		require.Equal(t, dropPaused, o.d.drop)
	}
	s.f.setPaused(false)
	s.framesN(2, allLayers, 0)
	require.Equal(t, LayerNone, s.layerAt(s.frames-1), "video resumes at a keyframe")
	require.Contains(t, s.keyframeRequests(), LayerHigh)
	s.framesN(2, allLayers, bit(2))
	require.Equal(t, LayerHigh, s.layerAt(s.frames-1))
	fw := s.forwarded()
	requireContinuous(t, fw)
	// The timestamp jump across the pause reflects the elapsed wall-clock time.
	for i := 1; i < len(fw); i++ {
		if fw[i].frame-fw[i-1].frame > 1 {
			gap := fw[i].d.ts - fw[i-1].d.ts
			elapsed := uint32(int64(fw[i].frame-fw[i-1].frame) * simFrameInterval * 90000 / int64(time.Second))
			require.InDelta(t, elapsed, gap, 2)
		}
	}
}

// audioPacket builds an Opus packet of a 20 ms frame.
func audioPacket(seq uint64, ts uint32, arrival int64, payload []byte) *buffer.ExtPacket {
	p := &buffer.ExtPacket{Arrival: arrival, ExtSeq: seq, Payload: payload}
	p.Header.SequenceNumber = uint16(seq)
	p.Header.Timestamp = ts
	return p
}

func TestForwarderAudioPauseResume(t *testing.T) {
	t.Parallel()
	f := newForwarder(forwarderParams{clockRate: 48000})
	now := int64(time.Hour)
	seq, ts := uint64(100), uint32(1000)
	var outSN []uint16
	var outTS []uint32
	send := func(n int) {
		for range n {
			d := f.process(audioPacket(seq, ts, now, []byte{1, 2, 3}), LayerLow)
			if d.drop == forwardPacket {
				outSN = append(outSN, d.sn)
				outTS = append(outTS, d.ts)
			}
			seq++
			ts += 960
			now += int64(20 * time.Millisecond)
		}
	}
	send(10)
	f.setPaused(true)
	send(50) // 1 s muted
	f.setPaused(false)
	send(10)
	require.Len(t, outSN, 20)
	for i := 1; i < len(outSN); i++ {
		require.Equal(t, outSN[i-1]+1, outSN[i])
		require.Positive(t, int32(outTS[i]-outTS[i-1]))
	}
	// Across the pause the timestamp advanced by the elapsed time (51 frames).
	require.Equal(t, uint32(51*960), outTS[10]-outTS[9])
	require.Equal(t, LayerLow, f.current)
	d := f.process(audioPacket(seq, ts, now, []byte{1}), LayerMid)
	require.Equal(t, dropBadLayer, d.drop)
}

func TestForwarderReorderedAndPadding(t *testing.T) {
	t.Parallel()
	f := newForwarder(forwarderParams{clockRate: 48000})
	now := int64(time.Hour)
	pkt := func(seq uint64, padding bool) decision {
		payload := []byte{1}
		if padding {
			payload = nil
		}
		return f.process(audioPacket(seq, uint32(seq*960), now, payload), LayerLow)
	}
	// Source order: 10, 11, 13(pad), 14, 12(late), 16, 15(late pad), 17.
	cases := []struct {
		seq     uint64
		padding bool
		drop    dropReason
		sn      uint16
	}{
		{10, false, forwardPacket, 10},
		{11, false, forwardPacket, 11},
		{13, true, dropPadding, 0},
		{14, false, forwardPacket, 13},
		{12, false, forwardPacket, 12}, // late, before the padding: keeps its slot
		{16, false, forwardPacket, 15}, // 15 missing: gap kept for it
		{15, true, dropPadding, 0},     // late padding: cannot close the gap
		{17, false, forwardPacket, 16},
		{9, false, dropTooOld, 0}, // before the mapping started
	}
	for _, tc := range cases {
		d := pkt(tc.seq, tc.padding)
		require.Equal(t, tc.drop, d.drop, "seq %d", tc.seq)
		if tc.drop == forwardPacket {
			require.Equal(t, tc.sn, d.sn, "seq %d", tc.seq)
			require.Equal(t, uint32(tc.seq*960), d.ts, "seq %d", tc.seq)
		}
	}
}

func TestForwarderReorderedVideoKeepsPictureIDs(t *testing.T) {
	t.Parallel()
	s := newSim(t, LayerLow)
	s.framesN(2, bit(0), bit(0))
	// Deliver the next two frames of layer 0 with their packets swapped
	// across frames: p(2,1) before p(2,0) and frame 3 before late frame 2.
	var pkts []buffer.ExtPacket
	ly := &s.layers[0]
	for frame := range 2 {
		ly.ts += simTSPerFrame
		ly.pid = (ly.pid + 1) & 0x7F
		ly.tl0++
		for i := range simPktsPerFrame {
			p := buffer.ExtPacket{Arrival: s.now, ExtSeq: ly.seq, Payload: []byte{0x90, 0x80, 0, 0, 0xAA}}
			p.Header.SequenceNumber = uint16(ly.seq)
			p.Header.Timestamp = ly.ts
			p.VP8.S = i == 0
			p.VP8.HasPictureID, p.VP8.PictureID = true, ly.pid
			p.VP8.HasTL0PICIDX, p.VP8.TL0PICIDX = true, ly.tl0
			p.VP8.HeaderSize = 4
			_ = frame
			pkts = append(pkts, p)
			ly.seq++
		}
	}
	last := s.forwarded()[len(s.forwarded())-1].d
	order := []int{2, 3, 1, 0}
	got := make([]decision, len(pkts))
	for _, i := range order {
		got[i] = s.f.process(&pkts[i], LayerLow)
		require.Equal(t, forwardPacket, got[i].drop)
	}
	for i, d := range got {
		require.Equal(t, last.sn+1+uint16(i), d.sn, "packet %d", i)
		frame := uint16(i / simPktsPerFrame)
		require.Equal(t, (last.vp8.pictureID+1+frame)&0x7FFF, d.vp8.pictureID, "packet %d", i)
		require.Equal(t, last.vp8.tl0PicIdx+1+uint8(frame), d.vp8.tl0PicIdx, "packet %d", i)
	}
}

func TestForwarderIgnoresPacketsBeforeSwitchPoint(t *testing.T) {
	t.Parallel()
	f := newForwarder(forwarderParams{clockRate: 48000})
	now := int64(time.Hour)
	require.Equal(t, forwardPacket, f.process(audioPacket(50, 0, now, []byte{1}), LayerLow).drop)
	f.setPaused(true)
	f.setPaused(false)
	require.Equal(t, forwardPacket, f.process(audioPacket(60, 0, now, []byte{1}), LayerLow).drop)
	// 55 arrives late, from before the resume: it belongs to no mapping.
	require.Equal(t, dropTooOld, f.process(audioPacket(55, 0, now, []byte{1}), LayerLow).drop)
}

func TestClampLayer(t *testing.T) {
	t.Parallel()
	for in, want := range map[int32]int32{MaxLayerAuto: LayerHigh, -7: LayerHigh, 0: 0, 1: 1, 2: 2, 3: LayerHigh} {
		require.Equal(t, want, clampLayer(in), "in %d", in)
	}
}
