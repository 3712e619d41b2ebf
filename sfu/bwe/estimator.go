package bwe

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// Mode says what the estimate is based on.
type Mode uint32

const (
	// ModeNone: no feedback yet, the estimate is only the configured
	// initial bitrate and means nothing.
	ModeNone Mode = iota
	// ModeTWCC: transport-wide feedback drives the estimate (and probes work).
	ModeTWCC
	// ModeREMB: the subscriber sends REMB but no TWCC; the estimate is its
	// receiver-side estimate.
	ModeREMB
)

func (m Mode) String() string {
	switch m {
	case ModeTWCC:
		return "twcc"
	case ModeREMB:
		return "remb"
	default:
		return "none"
	}
}

// Config tunes an Estimator. The zero value selects every default.
type Config struct {
	// InitialBitrate is the estimate when the first feedback arrives, before
	// anything is measured. Default 1.5 Mbit/s.
	InitialBitrate uint64
	// MinBitrate is the floor of the estimate. Default 50 kbit/s.
	MinBitrate uint64
	// MaxBitrate is the ceiling of the estimate. Default 50 Mbit/s.
	MaxBitrate uint64
}

// PacketOverhead is what the estimator adds to every packet's RTP size: the
// SRTP authentication tag (up to 16 bytes) and the UDP (8) and IPv4 (20)
// headers. Rates are counted as on the wire, so that a probe made of small
// padding packets measures a capacity that holds for large media packets too.
const PacketOverhead = 44

// Defaults of Config.
const (
	DefaultInitialBitrate = 1_500_000
	DefaultMinBitrate     = 50_000
	DefaultMaxBitrate     = 50_000_000
)

func (c Config) withDefaults() Config {
	if c.InitialBitrate == 0 {
		c.InitialBitrate = DefaultInitialBitrate
	}
	if c.MinBitrate == 0 {
		c.MinBitrate = DefaultMinBitrate
	}
	if c.MaxBitrate == 0 {
		c.MaxBitrate = DefaultMaxBitrate
	}
	c.MaxBitrate = max(c.MaxBitrate, c.MinBitrate)
	c.InitialBitrate = min(max(c.InitialBitrate, c.MinBitrate), c.MaxBitrate)
	return c
}

// Tuning of the controller. Times in µs.
const (
	rateSlotUS        = 50_000 // delivered-rate slots
	deliveredWindow   = 10     // slots: the delivered rate is measured over 500 ms
	queueThresholdUS  = 25_000 // a standing queue above this is a sign of overuse...
	drainToleranceUS  = 2_000  // ...unless it shrank by more than this since the previous report
	lossWindowUS      = 500_000
	minLossSamples    = 20
	lossCongested     = 0.10 // above: congestion
	lossHoldThreshold = 0.02 // above: no increase
	decreaseFactor    = 0.85 // of the delivered rate, on congestion
	capacityFactor    = 0.95 // of a measured capacity: the estimate aims just below it
	appLimitedFactor  = 1.25 // without a probe the estimate stays within this factor of the delivered rate
	appLimitedSlackBP = 20_000
	recoveryPerSecond = 1.0  // relative growth per second back towards the capacity
	growthPerSecond   = 0.05 // relative growth per second beyond it
	decreaseHoldUS    = 500_000
	increaseHoldUS    = 1_000_000
	feedbackTimeoutUS = 2_000_000
	rembStaleUS       = 2_000_000 // TWCC older than this lets REMB take over
)

// Estimator estimates the bandwidth towards one subscriber. OnPacketSent is
// lock-free and may be called from any number of goroutines; every other
// method takes a short internal lock (never across I/O) and is safe for
// concurrent use.
type Estimator struct {
	cfg   Config
	epoch time.Time

	hist     atomic.Pointer[history] // allocated on the first packet sent
	estimate atomic.Uint64
	mode     atomic.Uint32
	lastSent atomic.Int64 // µs since epoch

	mu            sync.Mutex // guards everything below
	refUnits      int64      // unwrapped reference time of the last report, -1 before the first
	delivered     rateMeter  // receiver clock
	baseline      delayBaseline
	queueUS       int64 // minimum queueing delay of the last report
	queueValid    bool
	overuse       bool  // the last report showed a standing, non-draining queue
	drainUntil    int64 // a congested probe left a queue: delay and loss are not congestion until it drained or this time
	lossLost      int
	lossTotal     int
	lossStart     int64
	lossRatio     float64
	capacity      uint64 // last measured bottleneck rate, 0 if unknown
	capacityAt    int64  // when it was measured
	holdUntil     int64  // no decrease before
	increaseAfter int64  // no increase before
	lastIncrease  int64
	lastFeedback  int64
	twccAt        int64
	hasTWCC       bool
	probe         probeCluster
	reason        string // what last moved the estimate (Stats.Reason)
	verified      bool   // the estimate rests on a measurement (Stats.Verified)
	result        ProbeResult
	hasResult     bool
}

// New returns an Estimator whose estimate starts at cfg.InitialBitrate.
func New(cfg Config) *Estimator {
	e := &Estimator{
		cfg:       cfg.withDefaults(),
		epoch:     time.Now(),
		refUnits:  -1,
		delivered: newRateMeter(rateSlotUS),
	}
	e.estimate.Store(e.cfg.InitialBitrate)
	return e
}

func (e *Estimator) micros(t time.Time) int64 { return t.Sub(e.epoch).Microseconds() }

func (e *Estimator) clamp(bps float64) uint64 {
	if bps <= 0 || math.IsNaN(bps) {
		return e.cfg.MinBitrate
	}
	return min(max(uint64(bps), e.cfg.MinBitrate), e.cfg.MaxBitrate)
}

// Estimate returns the current estimate in bits per second and what it is
// based on. Lock-free.
func (e *Estimator) Estimate() (uint64, Mode) {
	return e.estimate.Load(), Mode(e.mode.Load())
}

// OnPacketSent records one RTP packet sent at now with transport-wide
// sequence number seq and size bytes (header, payload and padding; the
// estimator adds PacketOverhead). It is the per-packet path: lock-free,
// allocation-free after the first call.
func (e *Estimator) OnPacketSent(seq uint16, size int, now time.Time) {
	h := e.hist.Load()
	if h == nil {
		h = new(history)
		if !e.hist.CompareAndSwap(nil, h) {
			h = e.hist.Load()
		}
	}
	us := e.micros(now)
	h.put(seq, size+PacketOverhead, us)
	e.lastSent.Store(us)
}

// OnTransportCC processes one TWCC feedback report received at now. A
// malformed report (a received status without its delta) is used as far as
// it goes: the statuses before the fault count, and the error wraps
// ErrMalformedFeedback. A nil report is refused with ErrMalformedFeedback.
func (e *Estimator) OnTransportCC(fb *rtcp.TransportLayerCC, now time.Time) error {
	if fb == nil {
		return fmt.Errorf("%w: nil report", ErrMalformedFeedback)
	}
	r := newTWCCReader(fb, 0)
	return e.processFeedback(feedbackWalk{parsed: &r}, now)
}

// OnTransportCCRaw processes one TWCC feedback report received at now from
// its bytes: pkt is one RTCP packet alone (cut out of a compound packet by
// its length field), read in place and not kept. It behaves like
// OnTransportCC on pion's parse of pkt without allocating. A packet that is
// not a well-formed TWCC report up to its receive deltas (too short, wrong
// version, type or format, length field other than len(pkt), chunks that do
// not cover the status count) changes nothing; one whose deltas are cut short
// is used as far as it goes. Either error wraps ErrMalformedFeedback.
func (e *Estimator) OnTransportCCRaw(pkt []byte, now time.Time) error {
	r := newRawTWCCReader(pkt)
	if err := r.malformed(); err != nil {
		return err
	}
	return e.processFeedback(feedbackWalk{raw: &r}, now)
}

// processFeedback is the body of OnTransportCC and OnTransportCCRaw: it walks
// the statuses of one report received at now.
func (e *Estimator) processFeedback(r feedbackWalk, now time.Time) error {
	h := e.hist.Load()
	if h == nil {
		return nil // nothing sent yet, nothing to learn
	}
	nowUS := e.micros(now)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refUnits = unwrapReference(r.referenceTime(), e.refUnits)
	r.setReference(e.refUnits)
	minOWD := int64(math.MaxInt64)
	probeOWD, probeSend := int64(0), int64(math.MinInt64) // of the newest probe packet reported
	var err error
	for {
		st, ok, werr := r.next()
		if werr != nil {
			err = werr
			break
		}
		if !ok {
			break
		}
		sendUS, size, reported, found := h.take(st.seq, nowUS)
		if !found || reported {
			continue // too old, never sent, or already counted
		}
		inProbe := e.probe.onPacket(sendUS, size, st)
		if st.hasArrival {
			e.delivered.add(st.arrivalUS, size)
			owd := st.arrivalUS - sendUS
			e.baseline.add(st.arrivalUS, owd)
			if !inProbe {
				minOWD = min(minOWD, owd)
			} else if sendUS > probeSend {
				probeOWD, probeSend = owd, sendUS
			}
		}
		if !inProbe {
			e.lossTotal++
			if !st.received {
				e.lossLost++
			}
		}
	}
	e.lastFeedback, e.twccAt, e.hasTWCC = nowUS, nowUS, true
	if Mode(e.mode.Load()) != ModeTWCC {
		e.mode.Store(uint32(ModeTWCC))
		e.lastIncrease, e.increaseAfter = nowUS, nowUS
	}
	if minOWD != math.MaxInt64 {
		e.observeQueue(nowUS, minOWD)
	}
	if probeSend != math.MinInt64 {
		e.watchProbe(nowUS, probeOWD)
	}
	e.observeLoss(nowUS)
	e.update(nowUS)
	return err
}

// observeQueue updates the overuse signal from the smallest one-way delay of
// a report: overuse is a queue above the threshold in two consecutive
// reports that is not draining. The queue a congested probe left behind is
// the probe's: it is not overuse until it has drained (or too long passed).
func (e *Estimator) observeQueue(nowUS, minOWD int64) {
	base, ok := e.baseline.value()
	if !ok {
		return
	}
	q := minOWD - base
	e.overuse = e.queueValid && q > queueThresholdUS && e.queueUS > queueThresholdUS &&
		q >= e.queueUS-drainToleranceUS
	if nowUS < e.drainUntil {
		e.overuse = false
		if q <= queueThresholdUS {
			e.drainUntil = 0
		}
	}
	e.queueUS, e.queueValid = q, true
}

// observeLoss closes the loss window when it is long enough.
func (e *Estimator) observeLoss(nowUS int64) {
	if e.lossStart == 0 {
		e.lossStart = nowUS
	}
	if nowUS-e.lossStart < lossWindowUS {
		return
	}
	if e.lossTotal >= minLossSamples {
		e.lossRatio = float64(e.lossLost) / float64(e.lossTotal)
	} else {
		e.lossRatio = 0
	}
	e.lossLost, e.lossTotal, e.lossStart = 0, 0, nowUS
}

func (e *Estimator) resetSignals(nowUS int64) {
	e.overuse = false
	e.queueValid = false
	e.lossLost, e.lossTotal, e.lossStart, e.lossRatio = 0, 0, nowUS, 0
}

// update runs the controller after a report. Caller holds mu.
func (e *Estimator) update(nowUS int64) {
	if e.probe.running() {
		if e.probe.complete(nowUS) {
			e.finishProbe(nowUS)
		}
		return // a probe's own queue and loss are judged by the probe
	}
	// Loss while a congested probe's queue drains is the probe's too.
	lossy := e.lossRatio > lossCongested && nowUS >= e.drainUntil
	congested := e.overuse || lossy
	delivered := e.delivered.rate(deliveredWindow)
	switch {
	case congested && nowUS >= e.holdUntil:
		e.reason = "loss"
		if e.overuse {
			e.reason = "delay"
		}
		e.decrease(nowUS, delivered)
	case !congested && e.lossRatio <= lossHoldThreshold && nowUS >= e.increaseAfter:
		if delivered > e.capacity && e.capacity > 0 {
			e.capacity, e.capacityAt = delivered, nowUS
		}
		e.increase(nowUS, delivered)
	}
}

// decrease reacts to congestion: the delivered rate is what the bottleneck
// passes now; aim below it so the queue drains.
func (e *Estimator) decrease(nowUS int64, delivered uint64) {
	est := float64(e.estimate.Load())
	if delivered > 0 {
		e.capacity, e.capacityAt = delivered, nowUS
		est = min(est, decreaseFactor*float64(delivered))
	} else {
		est /= 2
	}
	e.estimate.Store(e.clamp(est))
	e.verified = true
	e.holdUntil = nowUS + decreaseHoldUS
	e.increaseAfter = nowUS + increaseHoldUS
	e.lastIncrease = nowUS
	e.resetSignals(nowUS)
}

// increase grows the estimate: quickly back to just below a measured
// capacity, slowly beyond it and never further than the delivered rate
// justifies (probes move it further).
func (e *Estimator) increase(nowUS int64, delivered uint64) {
	dt := float64(min(nowUS-e.lastIncrease, 1_000_000)) / 1e6
	e.lastIncrease = nowUS
	if dt <= 0 {
		return
	}
	est := float64(e.estimate.Load())
	target := capacityFactor * float64(e.capacity)
	if est < target {
		est = min(target, est*(1+recoveryPerSecond*dt))
	} else {
		limit := max(est, appLimitedFactor*float64(delivered)+appLimitedSlackBP)
		est = min(limit, est*(1+growthPerSecond*dt))
	}
	if next := e.clamp(est); next != e.estimate.Load() {
		e.estimate.Store(next)
		e.reason = "increase"
	}
}

// OnREMB processes a receiver estimated maximum bitrate received at now. It
// drives the estimate only while no TWCC feedback arrives.
func (e *Estimator) OnREMB(bps float64, now time.Time) {
	nowUS := e.micros(now)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hasTWCC && nowUS-e.twccAt < rembStaleUS {
		return
	}
	e.mode.Store(uint32(ModeREMB))
	e.reason = "remb"
	e.estimate.Store(e.clamp(bps))
}

// Update runs the timers of the estimator at now: it halves the estimate
// when TWCC feedback stopped although packets are being sent, and concludes a
// probe whose feedback does not come. Call it periodically (the allocator's
// tick).
func (e *Estimator) Update(now time.Time) {
	nowUS := e.micros(now)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.probe.running() {
		if e.probe.complete(nowUS) {
			e.finishProbe(nowUS)
		}
		return
	}
	if Mode(e.mode.Load()) == ModeTWCC && nowUS-e.lastFeedback > feedbackTimeoutUS &&
		e.lastSent.Load() > e.lastFeedback && nowUS >= e.holdUntil {
		e.estimate.Store(e.clamp(float64(e.estimate.Load()) / 2))
		e.reason = "feedback timeout"
		e.holdUntil = nowUS + feedbackTimeoutUS
		e.increaseAfter = nowUS + increaseHoldUS
	}
}

// Stats is a snapshot of the estimator's view of the link.
type Stats struct {
	Mode       Mode
	Estimate   uint64        // bits/s
	Capacity   uint64        // last measured bottleneck rate, bits/s (0 if unknown)
	Delivered  uint64        // delivered rate over the last 500 ms, bits/s
	QueueDelay time.Duration // queueing delay of the last report
	LossRatio  float64       // loss over the last closed 500 ms window
	Probing    bool
	// Reason says what last moved the estimate: "delay" or "loss"
	// (congestion), "feedback timeout", "probe", "increase", "remb"; "" at
	// first.
	Reason string
	// Verified: the estimate rests on a measurement — congestion, a probe
	// that hit the bottleneck or raised the estimate — rather than only on
	// the configured initial bitrate (or it comes from REMB).
	Verified bool
}

// Stats returns a snapshot of the estimator's state.
func (e *Estimator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := Stats{
		Mode:      Mode(e.mode.Load()),
		Estimate:  e.estimate.Load(),
		Capacity:  e.capacity,
		Delivered: e.delivered.rate(deliveredWindow),
		LossRatio: e.lossRatio,
		Probing:   e.probe.running(),
		Reason:    e.reason,
		Verified:  e.verified || Mode(e.mode.Load()) == ModeREMB,
	}
	if e.queueValid {
		st.QueueDelay = time.Duration(e.queueUS) * time.Microsecond
	}
	return st
}
