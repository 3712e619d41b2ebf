package sfu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRTPMungerResync(t *testing.T) {
	t.Parallel()
	ms := int64(time.Millisecond)
	type pkt struct {
		resync  bool
		seq     uint64
		ts      uint32
		arrival int64 // ms
		padding bool
		wantSN  uint16
		wantTS  uint32
		wantRes mungeResult
	}
	cases := []struct {
		name string
		pkts []pkt
	}{
		{
			name: "first mapping keeps source numbers",
			pkts: []pkt{
				{resync: true, seq: 500, ts: 9000, wantSN: 500, wantTS: 9000},
				{seq: 501, ts: 9000, wantSN: 501, wantTS: 9000},
				{seq: 502, ts: 12000, arrival: 33, wantSN: 502, wantTS: 12000},
			},
		},
		{
			name: "switch continues seq and advances ts by elapsed time",
			pkts: []pkt{
				{resync: true, seq: 65535, ts: 100, wantSN: 65535, wantTS: 100},
				{seq: 65536, ts: 3100, arrival: 33, wantSN: 0, wantTS: 3100},
				// New layer, unrelated numbers, 100 ms later: 9000 ticks at 90 kHz.
				{resync: true, seq: 7, ts: 4000000000, arrival: 133, wantSN: 1, wantTS: 12100},
				{seq: 8, ts: 4000000000, arrival: 133, wantSN: 2, wantTS: 12100},
				{seq: 9, ts: 4000003000, arrival: 166, wantSN: 3, wantTS: 15100},
			},
		},
		{
			name: "resync without elapsed time still advances ts",
			pkts: []pkt{
				{resync: true, seq: 10, ts: 1000, arrival: 5, wantSN: 10, wantTS: 1000},
				{resync: true, seq: 900, ts: 55, arrival: 5, wantSN: 11, wantTS: 1001},
			},
		},
		{
			name: "source gaps are kept, padding closes up",
			pkts: []pkt{
				{resync: true, seq: 100, ts: 0, wantSN: 100},
				{seq: 103, ts: 0, wantSN: 103}, // 101, 102 lost upstream: NACKable gap
				{seq: 104, padding: true, wantRes: mungeDropPadding},
				{seq: 105, padding: true, wantRes: mungeDropPadding},
				{seq: 106, ts: 0, wantSN: 104},
				{seq: 101, ts: 0, wantSN: 101}, // late, before the drops
				{seq: 99, ts: 0, wantRes: mungeDropTooOld},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newRTPMunger(90000)
			for i, p := range tc.pkts {
				if p.resync {
					m.resync(p.seq, p.ts, p.arrival*ms)
				}
				sn, ts, res := m.process(p.seq, p.ts, p.arrival*ms, p.padding)
				require.Equal(t, p.wantRes, res, "packet %d", i)
				if res == mungeForward {
					require.Equal(t, p.wantSN, sn, "packet %d sn", i)
					require.Equal(t, p.wantTS, ts, "packet %d ts", i)
				}
			}
		})
	}
}

func TestRTPMungerForgetsOldDrops(t *testing.T) {
	t.Parallel()
	m := newRTPMunger(48000)
	m.resync(1000, 0, 0)
	_, _, res := m.process(1000, 0, 0, false)
	require.Equal(t, mungeForward, res)
	// 1001 is lost upstream; then more padding drops than remembered.
	seq := uint64(1002)
	for range dropRecordSize + 1 {
		_, _, res = m.process(seq, 0, 0, true)
		require.Equal(t, mungeDropPadding, res)
		seq++
	}
	sn, _, res := m.process(seq, 0, 0, false)
	require.Equal(t, mungeForward, res)
	require.Equal(t, uint16(1002), sn, "no gap for the padding")
	// 1001 arrives late, but the drop after it was forgotten: it cannot be
	// placed exactly and is refused rather than given a wrong number.
	_, _, res = m.process(1001, 0, 0, false)
	require.Equal(t, mungeDropTooOld, res)
}
