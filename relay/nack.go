package relay

import (
	"slices"
	"time"
)

const (
	// maxMissing is how many missing packets a nackTracker follows per
	// stream. A larger jump in sequence numbers is a discontinuity (the
	// origin stopped forwarding the layer for a while), not loss.
	maxMissing = 256
	// nackMaxTries is how often one packet is NACKed before it is given up.
	nackMaxTries = 10
	// nackMaxAge is how long a missing packet is worth waiting for.
	nackMaxAge = int64(time.Second)
	// nackMinRetry is the minimum interval between two NACKs of one packet.
	nackMinRetry = int64(10 * time.Millisecond)
)

// missingPacket is one sequence number a nackTracker waits for.
type missingPacket struct {
	ext      uint64 // extended sequence number
	detected int64  // unix ns
	sent     int64  // unix ns of the latest NACK
	tries    uint8
}

// nackTracker finds the packets missing from one relayed stream and decides
// when to NACK them upstream: first after a reorder delay, then again every
// retry interval (1.5 RTT, at least nackMinRetry), until they arrive, are
// tried nackMaxTries times, or are older than nackMaxAge. It is a pure state
// machine fed extended sequence numbers and times; not safe for concurrent
// use (the RemoteTrack layer's mutex guards it). It does not allocate after
// newNACKTracker.
type nackTracker struct {
	delay   int64 // reorder wait, ns
	started bool
	highest uint64
	miss    []missingPacket // ascending ext, len ≤ maxMissing
}

func newNACKTracker(delay time.Duration) nackTracker {
	return nackTracker{delay: int64(delay), miss: make([]missingPacket, 0, maxMissing)}
}

// reset forgets the stream (its layer was unsubscribed): the next packet
// starts it afresh, and nothing pending is counted as lost.
func (t *nackTracker) reset() {
	t.started = false
	t.miss = t.miss[:0]
}

// received records packet ext at now.
func (t *nackTracker) received(ext uint64, now int64) {
	if !t.started || ext > t.highest+maxMissing+1 {
		// First packet, or a discontinuity: start over.
		t.started = true
		t.highest = ext
		t.miss = t.miss[:0]
		return
	}
	if ext > t.highest {
		for s := t.highest + 1; s < ext; s++ {
			if len(t.miss) == maxMissing {
				// Keep the newest; the oldest is about to be given up anyway.
				copy(t.miss, t.miss[1:])
				t.miss = t.miss[:len(t.miss)-1]
			}
			t.miss = append(t.miss, missingPacket{ext: s, detected: now})
		}
		t.highest = ext
		return
	}
	if i, ok := slices.BinarySearchFunc(t.miss, ext, func(m missingPacket, e uint64) int {
		switch {
		case m.ext < e:
			return -1
		case m.ext > e:
			return 1
		}
		return 0
	}); ok {
		t.miss = slices.Delete(t.miss, i, i+1)
	}
}

// due appends to out (up to maxNACKs entries) the sequence numbers to NACK at
// now, given the link's round-trip time, and returns it with the number of
// packets given up on since the last call.
func (t *nackTracker) due(now int64, rtt time.Duration, out []uint16) ([]uint16, int) {
	retry := max(int64(rtt)*3/2, nackMinRetry)
	lost := 0
	keep := t.miss[:0]
	for _, m := range t.miss {
		exhausted := m.tries >= nackMaxTries && now-m.sent >= retry
		if exhausted || now-m.detected > nackMaxAge {
			lost++
			continue
		}
		if m.tries < nackMaxTries && now-m.detected >= t.delay && (m.tries == 0 || now-m.sent >= retry) &&
			len(out) < maxNACKs {
			out = append(out, uint16(m.ext))
			m.tries++
			m.sent = now
		}
		keep = append(keep, m)
	}
	t.miss = keep
	return out, lost
}

// pending returns how many packets are being waited for.
func (t *nackTracker) pending() int { return len(t.miss) }
