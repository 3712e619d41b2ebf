package bwe

import "math"

// The one-way delay of a packet (receiver arrival time minus sender send
// time) mixes two clocks, so only its changes mean something. Its minimum
// over the last seconds is the delay through an empty queue; how far a packet
// lies above that baseline is the queueing delay it met.
const (
	baselineBucketUS = 1_000_000 // one minimum per second of arrivals
	baselineBuckets  = 10        // baseline = minimum over the last 10 s
)

// delayBaseline keeps the windowed minimum of the one-way delay. Its clock is
// the receiver's arrival time. Not safe for concurrent use.
type delayBaseline struct {
	ids    [baselineBuckets]int64
	mins   [baselineBuckets]int64
	valid  [baselineBuckets]bool
	latest int64
	init   bool
}

// add records a packet that arrived at arrivalUS with one-way delay owdUS.
func (b *delayBaseline) add(arrivalUS, owdUS int64) {
	id := floorDiv(arrivalUS, baselineBucketUS)
	if !b.init {
		b.init, b.latest = true, id
	}
	if id <= b.latest-baselineBuckets {
		return
	}
	b.latest = max(b.latest, id)
	i := int(id % baselineBuckets)
	if i < 0 {
		i += baselineBuckets
	}
	if !b.valid[i] || b.ids[i] != id {
		b.ids[i], b.mins[i], b.valid[i] = id, owdUS, true
		return
	}
	b.mins[i] = min(b.mins[i], owdUS)
}

// value returns the minimum one-way delay over the window, ok false if
// nothing was recorded.
func (b *delayBaseline) value() (int64, bool) {
	if !b.init {
		return 0, false
	}
	m := int64(math.MaxInt64)
	for i := range b.ids {
		if b.valid[i] && b.ids[i] > b.latest-baselineBuckets && b.mins[i] < m {
			m = b.mins[i]
		}
	}
	return m, m != math.MaxInt64
}
