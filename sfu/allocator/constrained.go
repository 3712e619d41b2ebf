package allocator

import (
	"slices"
	"time"
)

// constrained fills a.layers within the estimate (minus the fixed rate) and
// returns the total rate the most important upgrade that did not fit would
// need; 0 if every track got what it asked for or is held back only by
// hysteresis.
func (a *Allocator) constrained(now time.Time, in Input) uint64 {
	tracks := in.Tracks
	for i := range a.order {
		a.order[i] = i
		a.layers[i] = Paused
	}
	slices.SortFunc(a.order, func(x, y int) int { return higherPriority(&tracks[x], &tracks[y]) })
	var budget uint64
	if in.Estimate > in.Fixed {
		budget = in.Estimate - in.Fixed
	}
	remaining := budget

	// Everyone's lowest layer first, in priority order.
	for _, i := range a.order {
		t := &tracks[i]
		l := lowest(t)
		if l == Paused {
			continue
		}
		if c := t.Bitrates[l]; c <= remaining && a.mayGo(now, i, l) {
			a.layers[i] = l
			remaining -= c
		}
	}
	// Then upgrades, tier by tier; within a tier one layer per track per round.
	for start := 0; start < len(a.order); {
		end := start + 1
		for end < len(a.order) && sameTier(&tracks[a.order[start]], &tracks[a.order[end]]) {
			end++
		}
		for progress := true; progress; {
			progress = false
			for _, i := range a.order[start:end] {
				t, cur := &tracks[i], a.layers[i]
				if cur == Paused {
					continue
				}
				next := nextUp(t, cur)
				if next == Paused {
					continue
				}
				if c := upgradeCost(t, cur, next); c <= remaining && a.mayGo(now, i, next) {
					a.layers[i] = next
					remaining -= c
					progress = true
				}
			}
		}
		start = end
	}
	// The first track (by priority) that wants more and cannot afford it.
	for _, i := range a.order {
		t, cur := &tracks[i], a.layers[i]
		var c uint64
		if cur == Paused {
			l := lowest(t)
			if l == Paused {
				continue
			}
			c = t.Bitrates[l]
		} else {
			next := nextUp(t, cur)
			if next == Paused {
				continue
			}
			c = upgradeCost(t, cur, next)
		}
		if c <= remaining {
			continue // affordable: held back by hysteresis only
		}
		return in.Fixed + (budget - remaining) + c
	}
	return 0
}

// mayGo reports whether input track i may be given layer l at now: always
// up to its previous layer, above it only once its hold has run out.
func (a *Allocator) mayGo(now time.Time, i int, l int32) bool {
	st := a.ss[i]
	return st.layer == unseen || l <= st.layer || !now.Before(st.holdUntil)
}

// upgradeCost is the extra bitrate of going from layer cur to next.
func upgradeCost(t *Track, cur, next int32) uint64 {
	if t.Bitrates[next] <= t.Bitrates[cur] {
		return 0
	}
	return t.Bitrates[next] - t.Bitrates[cur]
}

// probeTarget sizes a probe for goal: at most ProbeFactor times what is known
// to work, a little above the goal. 0 if that would not exceed what is known.
func (a *Allocator) probeTarget(in Input, goal uint64) uint64 {
	base := max(in.Estimate, in.Delivered)
	target := min(uint64(float64(goal)*a.cfg.ProbeOvershoot), uint64(float64(base)*a.cfg.ProbeFactor))
	if target <= base {
		return 0
	}
	return target
}
