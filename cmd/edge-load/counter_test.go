package main

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/require"
)

func TestTrackCounterExpected(t *testing.T) {
	tests := []struct {
		name         string
		seqs         []uint16
		wantPackets  uint64
		wantExpected uint64
	}{
		{"in order", []uint16{10, 11, 12}, 3, 3},
		{"gap", []uint16{10, 11, 14}, 3, 5},
		{"wrap", []uint16{65534, 65535, 0, 1}, 4, 4},
		{"wrap with loss", []uint16{65535, 2}, 2, 4},
		{"reordered", []uint16{10, 12, 11, 13}, 4, 4},
		{"late before first", []uint16{10, 9, 11}, 3, 2},
		{"duplicate", []uint16{10, 11, 11, 12}, 4, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTrackCounter(false)
			for _, s := range tt.seqs {
				b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s}, Payload: []byte{1}}).Marshal()
				require.NoError(t, err)
				c.observe(b)
			}
			snap := c.snapshot()
			require.Equal(t, tt.wantPackets, snap.packets)
			require.Equal(t, tt.wantExpected, snap.expected)
			require.Equal(t, 13*tt.wantPackets, snap.bytes)
		})
	}
}

func TestTrackCounterVideoKeyframes(t *testing.T) {
	c := newTrackCounter(true)
	key := []byte{0x10, 0x90, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02, 0xff}
	inter := []byte{0x10, 0x91, 0x02, 0x00, 0xff}
	for i, p := range [][]byte{inter, key, inter} {
		b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i)}, Payload: p}).Marshal()
		require.NoError(t, err)
		c.observe(b)
	}
	c.observe([]byte{1, 2, 3}) // not RTP: ignored
	snap := c.snapshot()
	require.EqualValues(t, 3, snap.packets)
	require.EqualValues(t, 1, snap.keyframes)
	require.EqualValues(t, 1280, snap.keyWidth)
	require.EqualValues(t, 720, snap.keyHeight)
}

func BenchmarkTrackCounterObserve(b *testing.B) {
	c := newTrackCounter(true)
	p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1}, Payload: make([]byte, 1100)}
	if err := p.SetExtension(1, []byte{1, 2}); err != nil {
		b.Fatal(err)
	}
	pkt, err := p.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		c.observe(pkt)
	}
}
