package bwe

// rateSlots is the ring size of a rateMeter: the longest window it can report.
const rateSlots = 32

// rateMeter sums bytes into fixed time slots and reports the bitrate over
// the last completed slots. Its clock is whatever the caller feeds (the
// receiver's arrival times for the delivered rate). Not safe for concurrent
// use.
type rateMeter struct {
	slotUS int64
	ids    [rateSlots]int64
	bytes  [rateSlots]uint64
	first  int64 // first slot id ever fed
	latest int64 // newest slot id fed
	init   bool
}

func newRateMeter(slotUS int64) rateMeter {
	return rateMeter{slotUS: slotUS}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// add counts n bytes at time tUS. Bytes older than the ring are dropped.
func (m *rateMeter) add(tUS int64, n int) {
	id := floorDiv(tUS, m.slotUS)
	if !m.init {
		m.init, m.first, m.latest = true, id, id
	}
	if id <= m.latest-rateSlots {
		return
	}
	m.latest = max(m.latest, id)
	i := int(id & (rateSlots - 1))
	if m.ids[i] != id {
		m.ids[i], m.bytes[i] = id, 0
	}
	m.bytes[i] += uint64(n)
}

// rate returns the bitrate in bits per second over the window completed
// slots before the newest one (fewer while less time has passed).
func (m *rateMeter) rate(window int) uint64 {
	if !m.init {
		return 0
	}
	window = min(window, rateSlots-1)
	n := min(int64(window), m.latest-m.first)
	if n <= 0 {
		return 0
	}
	var sum uint64
	for id := m.latest - n; id < m.latest; id++ {
		i := int(id & (rateSlots - 1))
		if m.ids[i] == id {
			sum += m.bytes[i]
		}
	}
	return sum * 8 * 1_000_000 / uint64(n*m.slotUS)
}

// reset forgets everything.
func (m *rateMeter) reset() {
	*m = rateMeter{slotUS: m.slotUS}
}
