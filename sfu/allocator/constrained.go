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

	// An upgrade (a layer above a track's previous one) must leave this much
	// of the estimate unused, so that the noise of measured rates does not
	// take the track straight back down.
	reserve := uint64(float64(in.Estimate) * (1 - a.cfg.UpgradeHeadroom))

	// Everyone's lowest layer first, in priority order.
	for _, i := range a.order {
		t := &tracks[i]
		l := lowest(t)
		if l == Paused {
			continue
		}
		if c := t.Bitrates[l]; a.fits(now, i, l, c, remaining, reserve) {
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
				if c := upgradeCost(t, cur, next); a.fits(now, i, next, c, remaining, reserve) {
					a.layers[i] = next
					remaining -= c
					progress = true
				}
			}
		}
		start = end
	}
	// The first track (by priority) that wants more and cannot afford it:
	// probe for what its next step needs, with the upgrade headroom.
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
		if c+reserve <= remaining {
			continue // affordable: held back by hysteresis only
		}
		return uint64(float64(in.Fixed+(budget-remaining)+c) / a.cfg.UpgradeHeadroom)
	}
	return 0
}

// fits reports whether input track i may take layer l, costing c more, with
// remaining bits/s left: keeping or lowering its previous layer needs only
// the bandwidth; going above it also needs its hold to have run out and
// reserve to stay free.
func (a *Allocator) fits(now time.Time, i int, l int32, c, remaining, reserve uint64) bool {
	st := a.ss[i]
	if st.layer != unseen && l <= st.layer {
		return c <= remaining
	}
	if st.layer != unseen && now.Before(st.holdUntil) {
		return false
	}
	return c+reserve <= remaining
}

// upgradeCost is the extra bitrate of going from layer cur to next.
func upgradeCost(t *Track, cur, next int32) uint64 {
	if t.Bitrates[next] <= t.Bitrates[cur] {
		return 0
	}
	return t.Bitrates[next] - t.Bitrates[cur]
}

// probeTarget sizes a probe for goal: at most ProbeFactor (ProbeRampFactor
// right after a successful probe) times what is known to work, a little
// above the goal. 0 if that would not exceed what is known.
// An unverified estimate (the initial guess) is not known to work: probing
// from it could flood a link the guess overrates.
func (a *Allocator) probeTarget(in Input, goal uint64) uint64 {
	base := in.Delivered
	if in.Verified {
		base = max(base, in.Estimate)
	}
	factor := a.cfg.ProbeFactor
	if a.ramping {
		factor = a.cfg.ProbeRampFactor
	}
	target := min(uint64(float64(goal)*a.cfg.ProbeOvershoot), uint64(float64(base)*factor))
	if target <= base {
		return 0
	}
	return target
}
