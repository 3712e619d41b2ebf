package bwe

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Probe evaluation.
const (
	probeTimeoutUS      = 1_500_000  // after the window ends, give up waiting for its feedback
	probeMinPackets     = 10         // received packets needed to measure a window
	probeMinSpanUS      = 40_000     // and the time they must span
	probeDeliveredRatio = 0.8        // receive rate below this share of the send rate: bottleneck hit
	probeGrowthUS       = 30_000     // or queueing delay growing by more than this over the window
	probeSomeGrowthUS   = 5_000      // a short receive rate needs at least this growth to count
	probeDrainHoldUS    = 500_000    // no decrease right after a probe: its queue is draining
	probeDrainMaxUS     = 3_000_000  // a congested probe's queue (delay, loss) is ignored until it drained, at most this long
	probeAbortQueueUS   = 60_000     // an open window whose packets queue longer than this is closed early
	capacityMemoryUS    = 10_000_000 // a capacity measured this recently is averaged with a new probe's
)

// ProbeResult is the outcome of one probe window.
type ProbeResult struct {
	// Target is the total rate the window was meant to reach.
	Target uint64
	// SendRate and ReceiveRate are the rates the window's packets (media and
	// padding) were sent and received at, bits/s; 0 if not measured.
	SendRate, ReceiveRate uint64
	// Success is true if the link carried the window at a rate above the
	// estimate the probe started from: the estimate rose.
	Success bool
	// DelayGrowth is how much the queueing delay grew over the window.
	DelayGrowth time.Duration
	// Aborted: the window was closed early because its packets queued.
	Aborted bool
	// Congested is true if the window hit the bottleneck (it was received
	// markedly slower than sent, or the queue grew); its receive rate became
	// the capacity.
	Congested bool
	// Estimate is the estimate after the probe.
	Estimate uint64
}

func (r ProbeResult) String() string {
	return fmt.Sprintf("target=%d send=%d recv=%d growth=%v aborted=%t success=%t congested=%t estimate=%d",
		r.Target, r.SendRate, r.ReceiveRate, r.DelayGrowth, r.Aborted, r.Success, r.Congested, r.Estimate)
}

// probeArrival is one received packet of a probe window.
type probeArrival struct {
	sendUS, arrivalUS int64
	size              int
}

// probeCluster accumulates what feedback says about the packets sent in the
// probe window [startUS, endUS].
type probeCluster struct {
	active     bool
	startUS    int64
	endUS      int64 // math.MaxInt64 while the window is open
	aborted    bool  // closed early: its packets queued (ProbeResult.Aborted)
	target     uint64
	before     uint64 // estimate when the probe started
	verified   bool   // and whether it rested on a measurement
	delivered  uint64 // delivered rate when the probe started
	newestSend int64  // newest send time of any packet reported since the start

	sentBytes           uint64
	firstSend, lastSend int64
	lastSendSize        int
	recv                []probeArrival // received packets of the window; reused across probes
}

func (p *probeCluster) running() bool { return p.active }

// onPacket accounts a reported packet; it returns whether the packet belongs
// to the window.
func (p *probeCluster) onPacket(sendUS int64, size int, st packetStatus) bool {
	if !p.active {
		return false
	}
	p.newestSend = max(p.newestSend, sendUS)
	if sendUS < p.startUS || sendUS > p.endUS {
		return false
	}
	p.sentBytes += uint64(size)
	p.firstSend = min(p.firstSend, sendUS)
	if sendUS >= p.lastSend {
		p.lastSend, p.lastSendSize = sendUS, size
	}
	if st.hasArrival {
		p.recv = append(p.recv, probeArrival{sendUS: sendUS, arrivalUS: st.arrivalUS, size: size})
	}
	return true
}

// complete reports whether the window is closed and either feedback covers
// packets sent after it, or waiting longer is pointless.
func (p *probeCluster) complete(nowUS int64) bool {
	if !p.active || p.endUS == math.MaxInt64 {
		return false
	}
	return p.newestSend > p.endUS || nowUS > p.endUS+probeTimeoutUS
}

// probeMeasure is what a window showed.
type probeMeasure struct {
	send, recv uint64 // bits/s
	growthUS   int64  // queueing delay at the window's end minus at its start
}

// measure evaluates the window. The send rate covers every packet sent in
// it (the last one's bytes left out: they count from its send instant on).
// The receive rate covers only the later half of the arrivals: a token
// bucket in the path lets the start of a window through at any rate, and a
// queue shows only once it has filled. The delay growth compares the
// smallest one-way delay among the first and the last quarter of the
// packets (in send order).
func (p *probeCluster) measure() (probeMeasure, bool) {
	n := len(p.recv)
	if n < probeMinPackets || p.lastSend-p.firstSend < probeMinSpanUS {
		return probeMeasure{}, false
	}
	var m probeMeasure
	m.send = (p.sentBytes - uint64(p.lastSendSize)) * 8 * 1_000_000 / uint64(p.lastSend-p.firstSend)

	slices.SortFunc(p.recv, func(a, b probeArrival) int { return cmp.Compare(a.sendUS, b.sendUS) })
	q := max(n/4, 1)
	m.growthUS = minOWD(p.recv[n-q:]) - minOWD(p.recv[:q])

	slices.SortFunc(p.recv, func(a, b probeArrival) int { return cmp.Compare(a.arrivalUS, b.arrivalUS) })
	from := n / 2
	span := p.recv[n-1].arrivalUS - p.recv[from].arrivalUS
	if span < probeMinSpanUS/2 {
		from, span = 0, p.recv[n-1].arrivalUS-p.recv[0].arrivalUS
		if span < probeMinSpanUS {
			return probeMeasure{}, false
		}
	}
	var bytes uint64
	for _, a := range p.recv[from+1:] {
		bytes += uint64(a.size)
	}
	m.recv = bytes * 8 * 1_000_000 / uint64(span)
	return m, true
}

func minOWD(as []probeArrival) int64 {
	m := int64(math.MaxInt64)
	for _, a := range as {
		m = min(m, a.arrivalUS-a.sendUS)
	}
	return m
}

// StartProbe opens a probe window at now aiming for a total rate of target
// bits/s. The caller then sends padding (through the media path, so the
// packets carry transport-wide sequence numbers) on top of its media so that
// the total reaches target, and closes the window with EndProbe. The result
// is available from ProbeResult once feedback covers the window.
func (e *Estimator) StartProbe(now time.Time, target uint64) error {
	nowUS := e.micros(now)
	e.mu.Lock()
	defer e.mu.Unlock()
	if Mode(e.mode.Load()) != ModeTWCC {
		return ErrProbeUnsupported
	}
	if e.probe.active {
		return ErrProbeActive
	}
	e.probe = probeCluster{
		active:    true,
		startUS:   nowUS,
		endUS:     math.MaxInt64,
		target:    target,
		before:    e.estimate.Load(),
		verified:  e.verified,
		delivered: e.delivered.rate(deliveredWindow),
		firstSend: math.MaxInt64,
		recv:      e.probe.recv[:0],
	}
	e.hasResult = false
	return nil
}

// watchProbe closes an open probe window early once its newest reported
// packet queued longer than probeAbortQueueUS: the bottleneck is found, and
// sending on would only fill the queue until it drops packets. Caller holds
// mu.
func (e *Estimator) watchProbe(nowUS, probeOWD int64) {
	p := &e.probe
	if !p.active || p.endUS != math.MaxInt64 {
		return
	}
	if base, ok := e.baseline.value(); ok && probeOWD-base > probeAbortQueueUS {
		p.endUS, p.aborted = nowUS, true
	}
}

// ProbeWindowOpen reports whether a probe window is open: the caller keeps
// sending its padding while it is (the estimator closes it early when the
// probe fills a queue).
func (e *Estimator) ProbeWindowOpen() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.probe.active && e.probe.endUS == math.MaxInt64
}

// EndProbe closes the probe window at now. No-op without an open window.
func (e *Estimator) EndProbe(now time.Time) {
	nowUS := e.micros(now)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.probe.active && e.probe.endUS == math.MaxInt64 {
		e.probe.endUS = nowUS
	}
}

// ProbeResult returns the result of the last probe once, after it was
// evaluated.
func (e *Estimator) ProbeResult() (ProbeResult, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.hasResult {
		return ProbeResult{}, false
	}
	e.hasResult = false
	return e.result, true
}

// finishProbe evaluates the closed window. Caller holds mu.
func (e *Estimator) finishProbe(nowUS int64) {
	p := &e.probe
	res := ProbeResult{Target: p.target, Aborted: p.aborted}
	if m, ok := p.measure(); ok {
		res.SendRate, res.ReceiveRate, res.DelayGrowth = m.send, m.recv, time.Duration(m.growthUS)*time.Microsecond
		// The queue grew: the bottleneck is hit. A receive rate short of the
		// send rate says so too (a token bucket's burst hides the queue for a
		// while), but only with some growth: alone, it is often the noise of
		// a busy receiver's clock.
		if m.growthUS > probeGrowthUS ||
			float64(m.recv) < probeDeliveredRatio*float64(m.send) && m.growthUS > probeSomeGrowthUS {
			// The window met the bottleneck: what got through is the capacity.
			// Aim just below it, but not below what was delivered before the
			// probe if the capacity carries that: the probe's own queue is
			// not a reason to give up a rate that worked.
			// One window's receive rate is noisy (the receiver's clock reads
			// arrivals late when it is busy): a capacity measured shortly
			// before is averaged in, so one low reading does not drop a layer.
			res.Congested = true
			e.drainUntil = nowUS + probeDrainMaxUS
			capacity := m.recv
			if e.capacity > 0 && nowUS-e.capacityAt < capacityMemoryUS {
				capacity = max(m.recv, (e.capacity+m.recv)/2)
			}
			e.capacity, e.capacityAt = capacity, nowUS
			est := max(capacityFactor*float64(capacity), float64(min(capacity, p.delivered)))
			e.estimate.Store(e.clamp(est))
		} else if rate := min(m.send, m.recv); rate > p.before {
			res.Success = true
			e.capacity, e.capacityAt = max(e.capacity, rate), nowUS
			e.estimate.Store(e.clamp(float64(max(rate, e.estimate.Load()))))
		} else if !p.verified && rate > p.delivered {
			// The estimate was the initial guess, and the link carried more
			// than was delivered, if less than the guess: the measurement
			// replaces the guess, so the next probe climbs from what is
			// known to work. (Judged against the guess alone, such a probe
			// never counted, and a subscriber first allocated below the
			// guess stayed there.)
			res.Success = true
			e.capacity, e.capacityAt = max(e.capacity, rate), nowUS
			e.estimate.Store(e.clamp(float64(rate)))
		}
	}
	res.Estimate = e.estimate.Load()
	e.verified = e.verified || res.Congested || res.Success
	if res.Estimate != p.before {
		e.reason = "probe"
	}
	e.result, e.hasResult = res, true
	*p = probeCluster{recv: p.recv[:0]}
	e.holdUntil = nowUS + probeDrainHoldUS
	e.increaseAfter = nowUS
	e.lastIncrease = nowUS
	e.resetSignals(nowUS)
}
