package relay

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const ms = int64(time.Millisecond)

func TestNACKTracker(t *testing.T) {
	t.Parallel()
	type step struct {
		at       int64    // ms
		recv     []uint64 // packets received at this time
		wantNACK []uint16 // due() result at this time
		wantLost int
	}
	tests := []struct {
		name  string
		rtt   time.Duration
		steps []step
		left  int // pending at the end
	}{
		{
			name: "in order: nothing to NACK",
			steps: []step{
				{at: 0, recv: []uint64{10, 11, 12}},
				{at: 100},
			},
		},
		{
			name: "gap NACKed after the reorder delay",
			steps: []step{
				{at: 0, recv: []uint64{10, 13}},
				{at: 5},
				{at: 10, wantNACK: []uint16{11, 12}},
			},
			left: 2,
		},
		{
			name: "reordered packet arrives before the delay: no NACK",
			steps: []step{
				{at: 0, recv: []uint64{10, 12}},
				{at: 4, recv: []uint64{11}},
				{at: 20},
			},
		},
		{
			name: "retry after 1.5 RTT, then recovered",
			rtt:  40 * time.Millisecond,
			steps: []step{
				{at: 0, recv: []uint64{1, 3}},
				{at: 10, wantNACK: []uint16{2}},
				{at: 50},
				{at: 70, wantNACK: []uint16{2}},
				{at: 80, recv: []uint64{2}},
				{at: 200},
			},
		},
		{
			name: "given up after the maximum tries",
			steps: func() []step {
				s := []step{{at: 0, recv: []uint64{1, 3}}}
				for i := range int64(nackMaxTries) {
					s = append(s, step{at: 10 + 10*i, wantNACK: []uint16{2}})
				}
				return append(s, step{at: 10 + 10*nackMaxTries, wantLost: 1})
			}(),
		},
		{
			name: "given up when too old",
			rtt:  time.Second,
			steps: []step{
				{at: 0, recv: []uint64{1, 3}},
				{at: 10, wantNACK: []uint16{2}},
				{at: 1001, wantLost: 1},
			},
		},
		{
			name: "discontinuity is not loss",
			steps: []step{
				{at: 0, recv: []uint64{1, 1 + maxMissing + 5}},
				{at: 50},
			},
		},
		{
			name: "duplicates and old packets are ignored",
			steps: []step{
				{at: 0, recv: []uint64{5, 5, 3, 7}},
				{at: 10, wantNACK: []uint16{6}},
			},
			left: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newNACKTracker(10 * time.Millisecond)
			for _, s := range tc.steps {
				for _, e := range s.recv {
					tr.received(e, s.at*ms)
				}
				got, lost := tr.due(s.at*ms, tc.rtt, nil)
				require.Equal(t, s.wantNACK, got, "at %dms", s.at)
				require.Equal(t, s.wantLost, lost, "at %dms", s.at)
			}
			require.Equal(t, tc.left, tr.pending())
		})
	}
}

func TestNACKTrackerBounds(t *testing.T) {
	tr := newNACKTracker(0)
	tr.received(0, 0)
	// Many gaps of one packet each: the window keeps the newest maxMissing.
	for i := uint64(1); i <= 2*maxMissing; i++ {
		tr.received(2*i, 0)
	}
	require.Equal(t, maxMissing, tr.pending())
	got, lost := tr.due(0, 0, nil)
	require.Len(t, got, maxMissing)
	require.Zero(t, lost)
	require.Equal(t, uint16(2*maxMissing+1), got[0])

	tr.reset()
	require.Zero(t, tr.pending())
	tr.received(100000, 0)
	require.Zero(t, tr.pending(), "after reset the next packet starts the stream")

	allocs := testing.AllocsPerRun(100, func() {
		tr.received(tr.highest+3, 0)
		tr.received(tr.highest-1, 0)
		_, _ = tr.due(int64(time.Hour), 0, got[:0])
	})
	require.Zero(t, allocs)
}
