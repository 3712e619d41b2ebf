// Package allocator shares one subscriber's estimated bandwidth across its
// video tracks. It is pure decision logic: fed the estimate, the tracks
// (priority, the subscriber's cap, per-layer bitrates) and the time, it
// returns a simulcast layer for every track, or pauses it, and says when to
// probe for more bandwidth. It does no I/O and owns no goroutine; the caller
// (one goroutine per subscriber) applies the decisions.
//
// Policy:
//   - Audio and anything else that is always sent is taken off the estimate
//     first (Input.Fixed).
//   - Every track first gets its lowest layer, in priority order: screen
//     shares before cameras, larger requested sizes before smaller, then by
//     ID. A track whose lowest layer does not fit is paused.
//   - What is left goes to upgrades, priority tier by tier; tracks of equal
//     priority take turns, one layer at a time (equal share).
//   - The sum never exceeds the estimate: downgrades happen at once.
//   - Hysteresis: an upgrade must fit within 95 % of the estimate (keeping a
//     layer only needs 100 %), and after a track went down it may not go
//     above that layer again for a hold time, which doubles while it keeps
//     flapping (down, up, down again).
//   - When a track is held below what its subscriber asked for only because
//     the estimate is too small, the allocator asks for a probe at up to
//     ProbeFactor times the current rate, backing off after failed probes.
package allocator

import (
	"cmp"
	"slices"
	"time"
)

// Layers.
const (
	// NumLayers is the number of simulcast layers a track can have.
	NumLayers = 3
	// Paused is the Decision.Layer of a track that gets no bandwidth.
	Paused int32 = -1
)

// Source ranks tracks: higher values are served first.
type Source uint8

const (
	// SourceCamera is a camera or any other video.
	SourceCamera Source = iota
	// SourceScreen is a screen share: served before cameras.
	SourceScreen
)

// Track is one video track of the subscriber as the allocator sees it.
type Track struct {
	// ID identifies the track across calls (its sid).
	ID string
	// Source is its priority class.
	Source Source
	// Pixels is the size the subscriber asked for (width × height); among
	// tracks of the same Source larger sizes are served first.
	Pixels uint32
	// MaxLayer is the highest layer the subscriber accepts (its quality or
	// size request), 0..NumLayers-1.
	MaxLayer int32
	// Bitrates are the bitrates of the layers in bits/s; 0 marks a layer the
	// track does not have.
	Bitrates [NumLayers]uint64
}

// Input is what one allocation is based on.
type Input struct {
	// Estimate is the estimated bandwidth towards the subscriber, bits/s.
	Estimate uint64
	// Unconstrained: there is no estimate yet; every track gets what its
	// subscriber asked for.
	Unconstrained bool
	// CanProbe: probing can raise the estimate (the subscriber sends TWCC).
	CanProbe bool
	// Fixed is what is sent regardless (audio), bits/s.
	Fixed uint64
	// Delivered is the rate currently delivered to the subscriber, bits/s.
	// Probes are sized relative to what is known to work: this, and the
	// estimate if it is Verified.
	Delivered uint64
	// Verified: the estimate rests on a measurement (a probe, congestion),
	// not only on the configured initial value.
	Verified bool
	// Tracks are the subscriber's video tracks that may be sent (not muted,
	// not disabled by the subscriber).
	Tracks []Track
}

// Decision is the allocation of one track.
type Decision struct {
	ID string
	// Layer is the layer to forward, Paused if none.
	Layer int32
	// Bitrate is the bitrate the layer is expected to take.
	Bitrate uint64
	// Changed: Layer differs from the previous decision (always true the
	// first time a track is seen).
	Changed bool
	// Limited: the track gets less than its subscriber asked for.
	Limited bool
}

// Result is one allocation.
type Result struct {
	// Decisions, in the order of Input.Tracks.
	Decisions []Decision
	// Allocated is the sum of the decisions' bitrates.
	Allocated uint64
	// Paused counts paused tracks.
	Paused int
	// Probe is the total rate (fixed + video + padding) to probe at now; 0
	// means do not probe. Call ProbeStarted when the probe starts and
	// ProbeDone when its result is known.
	Probe uint64
}

// Config tunes the allocator. The zero value selects every default.
type Config struct {
	// HoldBase is how long a downgraded track may not go above its new
	// layer. Default 3 s.
	HoldBase time.Duration
	// HoldMax caps the hold, which doubles while a track flaps (goes down
	// again, after going up, within FlapWindow). Default 30 s.
	HoldMax time.Duration
	// FlapWindow: a downgrade within this time of the previous one of the
	// same track, with an upgrade in between, doubles the hold; without one
	// (bandwidth falling in steps) the hold stays. Default 30 s.
	FlapWindow time.Duration
	// UpgradeHeadroom: an upgrade (a layer above a track's previous one,
	// resuming included) must fit within this share of the estimate; keeping
	// a layer only needs the whole estimate. The gap keeps the noise of
	// measured rates from flapping a track. Default 0.95.
	UpgradeHeadroom float64
	// ProbeFactor caps a probe at this multiple of what is known to work:
	// the delivered rate, or the estimate if it is verified. Default 1.5.
	ProbeFactor float64
	// ProbeRampFactor replaces ProbeFactor for a probe that follows a
	// successful one: a link that just carried more is probed in larger
	// steps, so a lifted constraint is found in fewer windows. Default 2.
	ProbeRampFactor float64
	// ProbeOvershoot: a probe aims this much above what the next upgrade
	// needs. Default 1.05.
	ProbeOvershoot float64
	// ProbeAfterSuccess is the pause after a successful probe. Default 500 ms.
	ProbeAfterSuccess time.Duration
	// ProbeAfterUpgrade is the pause after any track went up: its new rate
	// should be measured, and delivered, before the next probe. Default 2 s.
	ProbeAfterUpgrade time.Duration
	// ProbeBackoff is the pause after a failed probe, doubling up to
	// ProbeBackoffMax. Defaults 1 s and 3 s: the cap bounds how long a
	// constrained subscriber waits to find out its link was lifted.
	ProbeBackoff, ProbeBackoffMax time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HoldBase, 3*time.Second)
	def(&c.HoldMax, 30*time.Second)
	def(&c.FlapWindow, 30*time.Second)
	def(&c.ProbeAfterSuccess, 500*time.Millisecond)
	def(&c.ProbeAfterUpgrade, 2*time.Second)
	def(&c.ProbeBackoff, time.Second)
	def(&c.ProbeBackoffMax, 3*time.Second)
	if c.UpgradeHeadroom <= 0 || c.UpgradeHeadroom > 1 {
		c.UpgradeHeadroom = 0.95
	}
	if c.ProbeFactor <= 1 {
		c.ProbeFactor = 1.5
	}
	if c.ProbeRampFactor < c.ProbeFactor {
		c.ProbeRampFactor = max(2, c.ProbeFactor)
	}
	if c.ProbeOvershoot < 1 {
		c.ProbeOvershoot = 1.05
	}
	return c
}

// trackState is what the allocator remembers of a track between calls.
type trackState struct {
	layer     int32 // last decision
	gen       uint64
	holdUntil time.Time // no going above layer before
	hold      time.Duration
	lastDown  time.Time
	upSince   bool // went up since its last downgrade: a new downgrade is a flap
}

// Allocator keeps the state of one subscriber's allocation (hysteresis,
// probe schedule). It is not safe for concurrent use: one goroutine owns it.
type Allocator struct {
	cfg       Config
	tracks    map[string]*trackState
	gen       uint64
	order     []int         // scratch: track indexes in priority order
	layers    []int32       // scratch: layer per input track
	ss        []*trackState // scratch: state per input track
	nextProbe time.Time
	lastUp    time.Time // last time a track went up
	backoff   time.Duration
	probing   bool
	ramping   bool // the last probe raised the estimate
}

// New returns an allocator with cfg.
func New(cfg Config) *Allocator {
	cfg = cfg.withDefaults()
	return &Allocator{cfg: cfg, tracks: make(map[string]*trackState), backoff: cfg.ProbeBackoff}
}

// ProbeStarted records that a probe asked for by Result.Probe started.
func (a *Allocator) ProbeStarted(time.Time) { a.probing = true }

// ProbeOutcome is what a probe showed.
type ProbeOutcome uint8

const (
	// ProbeRaised: the link carried more; the estimate rose.
	ProbeRaised ProbeOutcome = iota
	// ProbeCongested: the probe hit the bottleneck.
	ProbeCongested
	// ProbeInconclusive: neither (too little was sent or measured).
	ProbeInconclusive
)

// ProbeDone records the outcome of the probe: after a raise the next probe
// may follow soon, in a larger step; after congestion the pause doubles up
// to ProbeBackoffMax; an inconclusive probe is retried after the current
// pause.
func (a *Allocator) ProbeDone(now time.Time, outcome ProbeOutcome) {
	a.probing = false
	a.ramping = outcome == ProbeRaised
	switch outcome {
	case ProbeRaised:
		a.backoff = a.cfg.ProbeBackoff
		a.nextProbe = now.Add(a.cfg.ProbeAfterSuccess)
	case ProbeCongested:
		a.nextProbe = now.Add(a.backoff)
		a.backoff = min(2*a.backoff, a.cfg.ProbeBackoffMax)
	default:
		a.nextProbe = now.Add(a.backoff)
	}
}

// Probing reports whether a probe is running (between ProbeStarted and ProbeDone).
func (a *Allocator) Probing() bool { return a.probing }

// Allocate decides every track's layer at now. It appends the decisions to
// out[:0] and returns them in Result.Decisions; reusing out across calls
// keeps it allocation-free once the tracks are known.
func (a *Allocator) Allocate(now time.Time, in Input, out []Decision) Result {
	a.gen++
	n := len(in.Tracks)
	a.layers = slices.Grow(a.layers[:0], n)[:n]
	a.order = slices.Grow(a.order[:0], n)[:n]
	a.ss = slices.Grow(a.ss[:0], n)[:n]
	a.states(in.Tracks)

	var probeGoal uint64
	if in.Unconstrained {
		for i := range in.Tracks {
			a.layers[i] = wanted(&in.Tracks[i])
		}
	} else {
		probeGoal = a.constrained(now, in)
	}

	res := Result{Decisions: out[:0]}
	for i := range in.Tracks {
		t, st, l := &in.Tracks[i], a.ss[i], a.layers[i]
		d := Decision{ID: t.ID, Layer: l, Changed: st.layer != l}
		if l == Paused {
			res.Paused++
		} else {
			d.Bitrate = t.Bitrates[l]
			res.Allocated += d.Bitrate
		}
		d.Limited = l < wanted(t)
		a.remember(now, st, l, d.Limited)
		res.Decisions = append(res.Decisions, d)
	}
	a.forget()
	if probeGoal > 0 && in.CanProbe && !a.probing && !now.Before(a.nextProbe) &&
		!now.Before(a.lastUp.Add(a.cfg.ProbeAfterUpgrade)) {
		res.Probe = a.probeTarget(in, probeGoal)
	}
	return res
}

// unseen marks a track allocated for the first time.
const unseen int32 = -2

// states looks up the state of every input track into a.ss, creating
// missing ones.
func (a *Allocator) states(tracks []Track) {
	for i := range tracks {
		st := a.tracks[tracks[i].ID]
		if st == nil {
			st = &trackState{layer: unseen}
			a.tracks[tracks[i].ID] = st
		}
		a.ss[i] = st
	}
}

// remember records decision l for st at now and starts or extends its hold
// after a downgrade the bandwidth forced (limited). A downgrade the
// subscriber asked for (its cap fell) is no congestion signal: it clears the
// hold instead, so asking for the higher layer again is answered at once.
func (a *Allocator) remember(now time.Time, st *trackState, l int32, limited bool) {
	if st.layer != unseen && l < st.layer && !limited {
		st.holdUntil = time.Time{}
		st.upSince = false
	}
	if st.layer != unseen && l < st.layer && limited {
		switch {
		case st.lastDown.IsZero() || now.Sub(st.lastDown) >= a.cfg.FlapWindow:
			st.hold = a.cfg.HoldBase
		case st.upSince:
			st.hold = min(2*st.hold, a.cfg.HoldMax)
		}
		st.holdUntil = now.Add(st.hold)
		st.lastDown = now
		st.upSince = false
	}
	if st.layer != unseen && l > st.layer {
		a.lastUp = now
		st.upSince = true
	}
	st.layer = l
	st.gen = a.gen
}

// forget drops the state of tracks that were not in the last input.
func (a *Allocator) forget() {
	for id, st := range a.tracks {
		if st.gen != a.gen {
			delete(a.tracks, id)
		}
	}
}

// wanted is the layer a track gets without a bandwidth limit: the highest
// layer it has up to its cap, else its lowest layer.
func wanted(t *Track) int32 {
	for l := min(t.MaxLayer, NumLayers-1); l >= 0; l-- {
		if t.Bitrates[l] > 0 {
			return l
		}
	}
	return lowest(t)
}

// lowest is the track's lowest layer, Paused if it has none.
func lowest(t *Track) int32 {
	for l := int32(0); l < NumLayers; l++ {
		if t.Bitrates[l] > 0 {
			return l
		}
	}
	return Paused
}

// nextUp is the next layer above l the track has, up to its wanted layer;
// Paused if none.
func nextUp(t *Track, l int32) int32 {
	top := wanted(t)
	for n := l + 1; n <= top; n++ {
		if t.Bitrates[n] > 0 {
			return n
		}
	}
	return Paused
}

// higherPriority orders tracks: screen before camera, larger before
// smaller, then by ID.
func higherPriority(a, b *Track) int {
	if c := cmp.Compare(b.Source, a.Source); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Pixels, a.Pixels); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

func sameTier(a, b *Track) bool { return a.Source == b.Source && a.Pixels == b.Pixels }
