package bwe

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHistory(t *testing.T) {
	var h history
	h.put(5, 1200, 1_000_000)
	h.put(5+historySize, 300, 2_000_000) // same slot, newer packet

	_, _, _, ok := h.take(5, 3_000_000)
	require.False(t, ok, "an overwritten slot must not be found")

	send, size, reported, ok := h.take(5+historySize, 3_000_000)
	require.True(t, ok)
	require.False(t, reported)
	require.Equal(t, int64(2_000_000), send)
	require.Equal(t, 300, size)

	_, _, reported, ok = h.take(5+historySize, 3_000_000)
	require.True(t, ok)
	require.True(t, reported, "a second report of the same packet is flagged")

	_, _, _, ok = h.take(6, 3_000_000)
	require.False(t, ok, "an empty slot must not be found")

	h.put(7, 5000, 10)
	_, size, _, _ = h.take(7, 20)
	require.Equal(t, maxRecordedSize, size, "sizes saturate")
}

func TestUnwrapTime(t *testing.T) {
	tests := []struct {
		name   string
		stored int64
		now    int64
		want   int64
	}{
		{"recent", 900, 1000, 900},
		{"same", 1000, 1000, 1000},
		{"after a wrap", slotTimeWrapSpan - 100, slotTimeWrapSpan + 50, slotTimeWrapSpan - 100},
		{"slightly in the future", 1_000_500, 1_000_000, 1_000_500},
		{"one full span old is ambiguous: newest reading wins", 5, slotTimeWrapSpan + 5, slotTimeWrapSpan + 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, unwrapTime(uint64(tc.stored)&slotTimeMask, tc.now))
		})
	}
}

func TestRateMeter(t *testing.T) {
	m := newRateMeter(50_000)
	require.Zero(t, m.rate(10), "empty")
	// 1250 bytes every 10 ms = 1 Mbit/s, for 1 s.
	for us := int64(0); us < 1_000_000; us += 10_000 {
		m.add(us, 1250)
	}
	require.Equal(t, uint64(1_000_000), m.rate(10))
	// A gap of 300 ms (6 empty slots) then one more packet: the window of
	// 10 completed slots holds 4 full ones.
	m.add(1_300_000, 1250)
	require.Equal(t, uint64(400_000), m.rate(10))
	// Too old: ignored.
	m.add(0, 1_000_000)
	require.Equal(t, uint64(400_000), m.rate(10))
	m.reset()
	require.Zero(t, m.rate(10))
}

func TestRateMeterShortHistory(t *testing.T) {
	m := newRateMeter(50_000)
	m.add(0, 625)
	m.add(50_000, 625) // one completed slot of 625 bytes in 50 ms
	require.Equal(t, uint64(100_000), m.rate(10), "fewer slots than the window: rate over what exists")
}

func TestDelayBaseline(t *testing.T) {
	var b delayBaseline
	_, ok := b.value()
	require.False(t, ok)
	b.add(0, 50_000)
	b.add(500_000, 40_000)
	b.add(2_000_000, 70_000)
	v, ok := b.value()
	require.True(t, ok)
	require.Equal(t, int64(40_000), v)
	// 10 s later the old minimum has left the window.
	b.add(11_000_000, 65_000)
	v, _ = b.value()
	require.Equal(t, int64(65_000), v)
	// Arrivals older than the window are ignored.
	b.add(0, 1)
	v, _ = b.value()
	require.Equal(t, int64(65_000), v)
}
