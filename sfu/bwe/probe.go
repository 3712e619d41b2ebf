package bwe

import (
	"fmt"
	"math"
	"time"
)

// Probe evaluation.
const (
	probeTimeoutUS      = 1_500_000 // after the window ends, give up waiting for its feedback
	probeMinPackets     = 10        // received packets needed to measure a window
	probeMinSpanUS      = 40_000    // and the time they must span
	probeDeliveredRatio = 0.9       // receive rate below this share of the send rate: bottleneck hit
	probeDrainHoldUS    = 500_000   // no decrease right after a probe: its queue is draining
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
	// Congested is true if the window hit the bottleneck (it was received
	// markedly slower than sent); its receive rate became the capacity.
	Congested bool
	// Estimate is the estimate after the probe.
	Estimate uint64
}

func (r ProbeResult) String() string {
	return fmt.Sprintf("target=%d send=%d recv=%d success=%t congested=%t estimate=%d",
		r.Target, r.SendRate, r.ReceiveRate, r.Success, r.Congested, r.Estimate)
}

// probeCluster accumulates what feedback says about the packets sent in the
// probe window [startUS, endUS].
type probeCluster struct {
	active     bool
	startUS    int64
	endUS      int64 // math.MaxInt64 while the window is open
	target     uint64
	before     uint64 // estimate when the probe started
	newestSend int64  // newest send time of any packet reported since the start

	sentBytes, recvBytes      uint64
	recvPackets               int
	firstSend, lastSend       int64
	lastSendSize              int
	firstArrival, lastArrival int64
	firstArrivalSize          int
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
		if p.recvPackets == 0 || st.arrivalUS < p.firstArrival {
			p.firstArrival, p.firstArrivalSize = st.arrivalUS, size
		}
		if p.recvPackets == 0 || st.arrivalUS > p.lastArrival {
			p.lastArrival = st.arrivalUS
		}
		p.recvBytes += uint64(size)
		p.recvPackets++
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

// rates measures the window: the send rate leaves out the last packet sent
// and the receive rate the first received, so each counts the bytes between
// its first and last instant.
func (p *probeCluster) rates() (send, recv uint64, ok bool) {
	if p.recvPackets < probeMinPackets {
		return 0, 0, false
	}
	sendSpan, recvSpan := p.lastSend-p.firstSend, p.lastArrival-p.firstArrival
	if sendSpan < probeMinSpanUS || recvSpan < probeMinSpanUS {
		return 0, 0, false
	}
	send = (p.sentBytes - uint64(p.lastSendSize)) * 8 * 1_000_000 / uint64(sendSpan)
	recv = (p.recvBytes - uint64(p.firstArrivalSize)) * 8 * 1_000_000 / uint64(recvSpan)
	return send, recv, true
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
		firstSend: math.MaxInt64,
	}
	e.hasResult = false
	return nil
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
	res := ProbeResult{Target: p.target}
	send, recv, ok := p.rates()
	if ok {
		res.SendRate, res.ReceiveRate = send, recv
		if float64(recv) < probeDeliveredRatio*float64(send) {
			// The window met the bottleneck: what arrived is the capacity.
			res.Congested = true
			e.capacity = recv
			e.estimate.Store(e.clamp(capacityFactor * float64(recv)))
		} else if rate := min(send, recv); rate > p.before {
			res.Success = true
			e.capacity = max(e.capacity, rate)
			e.estimate.Store(e.clamp(float64(max(rate, e.estimate.Load()))))
		}
	}
	res.Estimate = e.estimate.Load()
	e.result, e.hasResult = res, true
	*p = probeCluster{}
	e.holdUntil = nowUS + probeDrainHoldUS
	e.increaseAfter = nowUS
	e.lastIncrease = nowUS
	e.resetSignals(nowUS)
}
