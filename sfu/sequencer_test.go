package sfu

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSequencerLookup(t *testing.T) {
	t.Parallel()
	var s sequencer
	for sn := uint16(65000); sn != 700; sn++ { // wraps
		s.push(sentPacket{outSN: sn, srcSN: sn + 7, ts: uint32(sn) * 10, layer: 1})
	}
	e, ok := s.lookup(699)
	require.True(t, ok)
	require.Equal(t, uint16(706), e.srcSN)
	require.Equal(t, uint32(699)*10, e.ts)
	require.Equal(t, int8(1), e.layer)

	_, ok = s.lookup(700 - sequencerSize) // still in the ring
	require.True(t, ok)
	_, ok = s.lookup(700 - sequencerSize - 1) // overwritten
	require.False(t, ok)
	_, ok = s.lookup(800) // never sent
	require.False(t, ok)
}

// TestSequencerNACKSameMunging checks that what the sequencer records for a
// forwarded packet reproduces the first munging exactly, also after layer
// switches changed the forwarder's mapping.
func TestSequencerNACKSameMunging(t *testing.T) {
	t.Parallel()
	s := newSim(t, LayerLow)
	var seq sequencer
	type orig struct {
		d     decision
		layer int32
		srcSN uint16
	}
	sent := map[uint16]orig{}
	record := func(from int) {
		for _, o := range s.out[from:] {
			if o.d.drop != forwardPacket {
				continue
			}
			seq.push(sentPacket{outSN: o.d.sn, srcSN: o.pkt.Header.SequenceNumber, ts: o.d.ts,
				layer: int8(o.layer), hasVP8: o.d.hasVP8, vp8: o.d.vp8})
			sent[o.d.sn] = orig{o.d, o.layer, o.pkt.Header.SequenceNumber}
		}
	}
	n := len(s.out)
	s.framesN(5, allLayers, bit(0))
	s.f.setMaxLayer(LayerHigh, s.now)
	s.framesN(5, allLayers, bit(2))
	s.f.setMaxLayer(LayerMid, s.now)
	s.framesN(5, allLayers, bit(1))
	record(n)
	require.Greater(t, len(sent), 20)
	for sn, o := range sent {
		e, ok := seq.lookup(sn)
		require.True(t, ok, "sn %d", sn)
		require.Equal(t, o.layer, int32(e.layer))
		require.Equal(t, o.srcSN, e.srcSN)
		require.Equal(t, o.d.ts, e.ts)
		require.Equal(t, o.d.vp8, e.vp8)
	}
}
