package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

const paddingWire = PaddingPacketWire // what WritePadding budgets per packet

func TestDownTrackPadding(t *testing.T) {
	t.Parallel()
	dt, src, w, _ := newBoundDownTrack(t, LayerLow)
	require.Zero(t, dt.WritePadding(10*paddingWire), "nothing delivered yet: no padding")

	b := newVP8Buffer(1000)
	now := time.Now()
	for i := range 3 {
		dt.WriteRTP(pushVP8(src, b, 0, 1000, uint16(100+i), uint32(9000+3000*i), uint16(7+i), i == 0, now), LayerLow)
	}
	require.Len(t, w.packets(), 3)

	require.Zero(t, dt.WritePadding(paddingWire-1), "less than one packet's worth")
	sent := dt.WritePadding(3*paddingWire + 10)
	pkts := w.packets()
	require.Len(t, pkts, 6, "three padding packets")
	last := pkts[2].Header
	for i, p := range pkts[3:] {
		require.True(t, p.Header.Padding, "padding flag")
		require.Equal(t, byte(PaddingPacketSize), p.Header.PaddingSize)
		require.Empty(t, p.Payload)
		require.Equal(t, last.SequenceNumber+1+uint16(i), p.Header.SequenceNumber, "numbered after the last packet")
		require.Equal(t, last.Timestamp, p.Header.Timestamp, "the last frame's timestamp")
		require.Equal(t, last.SSRC, p.Header.SSRC)
		require.Equal(t, last.PayloadType, p.Header.PayloadType)
		require.False(t, p.Header.Marker)
	}
	require.Equal(t, 3*(pkts[3].Header.MarshalSize()+PaddingPacketSize+WireOverhead), sent)
	require.Equal(t, uint64(sent), dt.AllocationState().PaddingBytes)

	// Media continues after the padding without a gap.
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 103, 18000, 10, false, now.Add(100*time.Millisecond)), LayerLow)
	pkts = w.packets()
	require.Equal(t, last.SequenceNumber+4, pkts[6].Header.SequenceNumber)
	require.False(t, pkts[6].Header.Padding)
	checkSequence(t, pkts)

	// A packet that does not end a frame: no padding until one does.
	p := pushVP8(src, b, 0, 1000, 104, 21000, 11, false, now.Add(133*time.Millisecond))
	p.Header.Marker = false
	dt.WriteRTP(p, LayerLow)
	require.Zero(t, dt.WritePadding(paddingWire), "inside a frame")
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 105, 21000, 11, false, now.Add(134*time.Millisecond)), LayerLow)
	require.NotZero(t, dt.WritePadding(paddingWire), "frame complete")

	// A burst is bounded.
	require.Equal(t, maxPaddingBurst, dt.WritePadding(1000*paddingWire)/(pkts[3].Header.MarshalSize()+PaddingPacketSize+WireOverhead))
	checkSequence(t, w.packets())
}

// TestDownTrackPaddingWhilePaused: an allocator-paused track still probes,
// and resumes after its padding without a sequence gap.
func TestDownTrackPaddingWhilePaused(t *testing.T) {
	t.Parallel()
	dt, src, w, _ := newBoundDownTrack(t, LayerLow)
	b := newVP8Buffer(1000)
	now := time.Now()
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 50, 900, 1, true, now), LayerLow)
	p := pushVP8(src, b, 0, 1000, 51, 3900, 2, false, now.Add(33*time.Millisecond))
	p.Header.Marker = false // paused in the middle of a frame
	dt.WriteRTP(p, LayerLow)
	dt.SetAllocation(LayerNone)
	require.NotZero(t, dt.WritePadding(2*paddingWire), "paused: the half frame is lost anyway")
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 52, 6900, 3, false, now.Add(66*time.Millisecond)), LayerLow)
	require.Len(t, w.packets(), 4, "nothing forwarded while paused")
	dt.SetAllocation(LayerLow)
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 53, 9900, 4, false, now.Add(99*time.Millisecond)), LayerLow)
	require.Len(t, w.packets(), 4, "resumes at a keyframe only")
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 54, 12900, 5, true, now.Add(132*time.Millisecond)), LayerLow)
	pkts := w.packets()
	require.Len(t, pkts, 5)
	checkSequence(t, pkts)
	require.GreaterOrEqual(t, pkts[4].Header.Timestamp, pkts[3].Header.Timestamp, "timestamps never go back")
}

func checkSequence(t *testing.T, pkts []rtp.Packet) {
	t.Helper()
	for i := 1; i < len(pkts); i++ {
		require.Equal(t, pkts[i-1].Header.SequenceNumber+1, pkts[i].Header.SequenceNumber, "packet %d", i)
	}
}

func TestReservePadding(t *testing.T) {
	m := newRTPMunger(90000)
	_, _, ok := m.reservePadding(2)
	require.False(t, ok, "nothing mapped yet")

	m.resync(100, 1000, 0)
	mustForward := func(ext uint64) uint16 {
		t.Helper()
		sn, _, res := m.process(ext, 1000, 0, false)
		require.Equal(t, mungeForward, res, "ext %d", ext)
		return sn
	}
	require.Equal(t, uint16(100), mustForward(100))
	require.Equal(t, uint16(102), mustForward(102)) // 101 is late
	first, ts, ok := m.reservePadding(2)
	require.True(t, ok)
	require.Equal(t, uint16(103), first)
	require.Equal(t, uint32(1000), ts)
	require.Equal(t, uint16(105), mustForward(103), "media moves up behind the padding")
	_, _, res := m.process(101, 1000, 0, false)
	require.Equal(t, mungeDropTooOld, res, "a packet from before the padding cannot be placed")
	// Drops after the padding still close up.
	_, _, res = m.process(104, 1000, 0, true)
	require.Equal(t, mungeDropPadding, res)
	require.Equal(t, uint16(106), mustForward(105))
}
