package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu/buffer"
)

func TestDownTrackAllocationCaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		subscriber int32 // SetMaxLayer
		allocation int32 // SetAllocation
		userPaused bool  // SetPaused
		wantMax    int32 // forwarder cap
		wantPaused bool
		wantWanted int32 // WantedLayer (dynacast)
	}{
		{"allocator below subscriber", LayerHigh, LayerMid, false, LayerMid, false, LayerMid},
		{"subscriber below allocator", LayerLow, LayerHigh, false, LayerLow, false, LayerLow},
		{"equal", LayerMid, LayerMid, false, LayerMid, false, LayerMid},
		{"allocator pauses", LayerHigh, LayerNone, false, LayerHigh, true, LayerNone},
		{"subscriber pauses, allocator allows", LayerHigh, LayerHigh, true, LayerHigh, true, LayerNone},
		{"both pause", LayerHigh, LayerNone, true, LayerHigh, true, LayerNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dt, _, _, _ := newBoundDownTrack(t, LayerHigh)
			dt.SetMaxLayer(tc.subscriber)
			dt.SetAllocation(tc.allocation)
			dt.SetPaused(tc.userPaused)
			require.Equal(t, tc.wantMax, dt.MaxLayer())
			require.Equal(t, tc.wantPaused, dt.Paused())
			require.Equal(t, tc.wantWanted, dt.WantedLayer())
			st := dt.AllocationState()
			require.Equal(t, tc.subscriber, st.SubscriberMaxLayer)
			require.Equal(t, tc.userPaused, st.UserPaused)
			require.Equal(t, tc.allocation == LayerNone, st.AllocatorPaused)
			require.True(t, st.Bound)
		})
	}
}

// TestDownTrackPausesAreIndependent: neither resume undoes the other pause.
func TestDownTrackPausesAreIndependent(t *testing.T) {
	t.Parallel()
	dt, src, _, _ := newBoundDownTrack(t, LayerHigh)
	require.True(t, dt.SetAllocation(LayerNone), "allocator pause changes the forwarder")
	dt.SetPaused(true)
	dt.SetPaused(false)
	require.True(t, dt.Paused(), "subscriber's resume must not lift the allocator's pause")
	dt.SetPaused(true)
	require.True(t, dt.SetAllocation(LayerMid), "the cap changes although the subscriber still pauses")
	require.True(t, dt.Paused())
	dt.SetPaused(false)
	require.False(t, dt.Paused())
	require.Equal(t, LayerMid, dt.MaxLayer(), "the allocator's cap set while paused applies")
	require.False(t, dt.SetAllocation(LayerMid), "same decision again: no change")
	require.Positive(t, src.changed, "dynacast told about the changes")
}

func TestDownTrackAllocationKeyframes(t *testing.T) {
	t.Parallel()
	dt, src, _, _ := newBoundDownTrack(t, LayerHigh)
	ssrcs := [NumLayers]uint32{1000, 2000, 3000}
	var bufs [NumLayers]*buffer.Buffer
	for l := range bufs {
		bufs[l] = newVP8Buffer(ssrcs[l])
	}
	now := time.Now()
	// Every layer arrives; the down-track ends up on the high layer.
	for l := int32(0); l < NumLayers; l++ {
		dt.WriteRTP(pushVP8(src, bufs[l], l, ssrcs[l], 10, 900, 5, true, now), l)
	}
	require.Equal(t, LayerHigh, dt.CurrentLayer())
	before := len(src.keyframeRequests())
	dt.SetAllocation(LayerLow)
	reqs := src.keyframeRequests()
	require.Len(t, reqs, before+1, "going down asks for a keyframe of the new target")
	require.Equal(t, LayerLow, reqs[len(reqs)-1])
	require.Equal(t, LayerBit(LayerLow)|LayerBit(LayerHigh), dt.WantedLayers(), "high still needed until the switch")
	dt.WriteRTP(pushVP8(src, bufs[0], 0, ssrcs[0], 11, 3900, 6, true, now.Add(33*time.Millisecond)), LayerLow)
	require.Equal(t, LayerLow, dt.CurrentLayer(), "switched at the low layer's keyframe")
	require.Equal(t, LayerBit(LayerLow), dt.WantedLayers())
}

func TestDownTrackLayerMetering(t *testing.T) {
	t.Parallel()
	dt, src, _, _ := newBoundDownTrack(t, LayerLow)
	now := time.Now()
	bufs := []uint32{1000, 2000, 3000}
	for l, ssrc := range bufs {
		b := newVP8Buffer(ssrc)
		for i := range 3 {
			// Every layer is metered, forwarded or not.
			dt.WriteRTP(pushVP8(src, b, int32(l), ssrc, uint16(10+i), uint32(900+3000*i), uint16(5+i), i == 0, now), int32(l))
		}
	}
	dt.WriteRTP(pushVP8(src, newVP8Buffer(4000), 0, 4000, 1, 1, 1, true, now), 7) // bad layer: not metered
	st := dt.AllocationState()
	// pushVP8 payloads are 8 bytes: 3 packets × (8 + meterOverhead) per layer.
	for l := range NumLayers {
		require.Equal(t, uint64(3*(8+meterOverhead)), st.LayerBytes[l], "layer %d", l)
	}
}

// TestDownTrackNoRetransmitWhilePaused: NACKs for a paused track are not
// answered: it resumes at a keyframe, and the link is likely congested.
func TestDownTrackNoRetransmitWhilePaused(t *testing.T) {
	t.Parallel()
	dt, src, w, _ := newBoundDownTrack(t, LayerLow)
	b := newVP8Buffer(1000)
	dt.WriteRTP(pushVP8(src, b, 0, 1000, 10, 900, 5, true, time.Now()), LayerLow)
	pkts := w.packets()
	require.Len(t, pkts, 1)
	nack := []rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: testOutSSRC,
		Nacks: []rtcp.NackPair{{PacketID: pkts[0].Header.SequenceNumber}}}}

	dt.SetAllocation(LayerNone)
	dt.handleRTCP(nack, time.Now())
	require.Len(t, w.packets(), 1, "no retransmission while paused")
	require.Zero(t, dt.Stats().RetransmitMisses, "not a miss either")

	dt.SetAllocation(LayerLow)
	dt.handleRTCP(nack, time.Now())
	require.Len(t, w.packets(), 2, "retransmitted once forwarding again")
}

func TestRetransmitBudget(t *testing.T) {
	b := rtxBudget{rate: 1000, tokens: 200} // 8 kbit/s, 200 ms of burst
	require.True(t, b.allow(150, 1e9))
	require.False(t, b.allow(100, 1e9), "50 bytes left")
	require.True(t, b.allow(100, 1e9+50e6), "50 ms refill 50 bytes")
	require.False(t, b.allow(1, 1e9+50e6))
	require.True(t, b.allow(200, 10e9), "refill capped at the burst")
	require.False(t, b.allow(1, 10e9))
	unlimited := rtxBudget{}
	require.True(t, unlimited.allow(1<<20, 0))
}

// TestDownTrackRetransmitBudget: NACKs beyond the budget are not answered.
func TestDownTrackRetransmitBudget(t *testing.T) {
	t.Parallel()
	dt, src, w, _ := newBoundDownTrack(t, LayerLow)
	b := newVP8Buffer(1000)
	now := time.Now()
	for i := range 20 {
		dt.WriteRTP(pushVP8(src, b, 0, 1000, uint16(10+i), uint32(900+3000*i), uint16(5+i), i == 0, now), LayerLow)
	}
	pkts := w.packets()
	require.Len(t, pkts, 20)
	// The cached packets are ~30 bytes: with the wire overhead ~75 each. A
	// budget of 8 kbit/s holds 200 bytes: two retransmissions.
	dt.SetRetransmitBudget(8_000)
	var nacks []rtcp.NackPair
	for _, p := range pkts[:10] {
		nacks = append(nacks, rtcp.NackPair{PacketID: p.Header.SequenceNumber})
	}
	dt.handleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: testOutSSRC, Nacks: nacks}}, time.Now())
	require.Len(t, w.packets(), 22, "two retransmissions fit the budget")
	require.Equal(t, uint64(8), dt.AllocationState().RetransmitsSkipped)

	dt.SetRetransmitBudget(0)
	dt.handleRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: testOutSSRC, Nacks: nacks}}, time.Now())
	require.Len(t, w.packets(), 32, "no budget: every NACK answered")
}
