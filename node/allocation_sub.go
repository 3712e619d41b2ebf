package node

import (
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/allocator"
	"github.com/edgemesh/edge/sfu/bwe"
)

// linkEstimator is what an allocation needs of its subscriber connection's bandwidth
// estimator (*bwe.Estimator). Safe for concurrent use; no method blocks.
type linkEstimator interface {
	Estimate() (uint64, bwe.Mode)
	Stats() bwe.Stats
	Update(now time.Time)
	StartProbe(now time.Time, target uint64) error
	ProbeWindowOpen() bool
	EndProbe(now time.Time)
	ProbeResult() (bwe.ProbeResult, bool)
}

type subscriberAllocationParams struct {
	cfg       allocationConfig
	estimator linkEstimator
	// signal sends a message to the subscriber (Participant.sendSignal); it must not block.
	signal  func(*livekit.SignalResponse)
	metrics *allocMetrics
	log     zerolog.Logger
	sched   *allocScheduler // runs the allocation
}

// trackChange is a down-track added to or removed from a subscriber.
type trackChange struct {
	sink   allocSink
	meta   trackMeta
	remove bool
}

// subscriberAllocation is the stream allocator of one subscriber. Its scheduler's goroutine
// owns the allocator, the tracks and the probe; add, remove and stop only enqueue.
type subscriberAllocation struct {
	cfg     allocationConfig
	est     linkEstimator
	signal  func(*livekit.SignalResponse)
	metrics *allocMetrics
	log     zerolog.Logger
	alloc   *allocator.Allocator

	mu      sync.Mutex // guards pending and stopped
	pending []trackChange
	stopped bool

	sched                   *allocScheduler
	schedMember, schedDirty bool // guarded by sched.mu

	// Owned by the scheduler's goroutine.
	tracks    []*allocTrack
	inputs    []allocator.Track
	inputIdx  []int // index into tracks of each input
	decisions []allocator.Decision
	probe     probePump
	reported  allocReport
	loggedEst uint64    // estimate last logged
	since     time.Time // when the subscriber first had a track
}

// noFeedbackGrace is how long a subscriber's tracks are held to the initial estimate while no
// feedback (TWCC or REMB) has come; after it, a subscriber that sends none is not constrained.
const noFeedbackGrace = 5 * time.Second

// probePump is the padding schedule of a running probe.
type probePump struct {
	running bool
	end     time.Time
	rate    float64 // padding bits/s
	last    time.Time
	credit  float64 // bytes owed
}

// allocReport is what an allocation contributes to the node-wide gauges, to be retracted when it stops.
type allocReport struct {
	estimate, allocated float64
	paused              int
	mode                bwe.Mode
	counted             bool
}

func newSubscriberAllocation(p subscriberAllocationParams) *subscriberAllocation {
	return &subscriberAllocation{
		cfg:     p.cfg,
		est:     p.estimator,
		signal:  p.signal,
		metrics: p.metrics,
		log:     p.log,
		alloc:   allocator.New(p.cfg.Allocator),
		sched:   p.sched,
	}
}

// add hands a new down-track to the allocation. Adding a known one is a no-op.
func (s *subscriberAllocation) add(sink allocSink, meta trackMeta) {
	s.enqueue(trackChange{sink: sink, meta: meta})
}

// remove tells the allocation a down-track is gone.
func (s *subscriberAllocation) remove(sink allocSink) {
	s.enqueue(trackChange{sink: sink, remove: true})
}

func (s *subscriberAllocation) enqueue(c trackChange) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.pending = append(s.pending, c)
	s.mu.Unlock()
	s.sched.changed(s)
}

// stop ends the allocation: the scheduler retracts its metrics and forgets it. Idempotent;
// does not wait.
func (s *subscriberAllocation) stop() {
	s.mu.Lock()
	first := !s.stopped
	s.stopped = true
	s.mu.Unlock()
	if first {
		s.sched.changed(s)
	}
}

func (s *subscriberAllocation) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// applyPending takes the queued track changes; it reports whether a track was added.
func (s *subscriberAllocation) applyPending() bool {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	added := false
	for _, c := range pending {
		i := s.find(c.sink)
		switch {
		case c.remove && i >= 0:
			s.tracks = append(s.tracks[:i], s.tracks[i+1:]...)
		case !c.remove && i < 0:
			s.tracks = append(s.tracks, &allocTrack{sink: c.sink, meta: c.meta, layer: sfu.LayerHigh})
			added = true
		}
	}
	return added
}

func (s *subscriberAllocation) find(sink allocSink) int {
	for i, t := range s.tracks {
		if t.sink == sink {
			return i
		}
	}
	return -1
}

// step is one allocation at now: measure, decide, apply, report, maybe start a probe.
func (s *subscriberAllocation) step(now time.Time) {
	s.applyPending()
	s.est.Update(now)
	if r, ok := s.est.ProbeResult(); ok {
		s.alloc.ProbeDone(now, probeOutcomeOf(r))
		s.metrics.probes.WithLabelValues(probeOutcome(r)).Inc()
		s.log.Debug().Stringer("result", r).Msg("probe finished")
	}
	estimate, mode := s.est.Estimate()
	stats := s.est.Stats()
	s.logEstimate(estimate, mode, stats)
	var fixed float64
	s.inputs, s.inputIdx = s.inputs[:0], s.inputIdx[:0]
	for i, t := range s.tracks {
		t.measure(now)
		s.metrics.padding.Add(float64(t.paddingSent()))
		s.metrics.rtxSkipped.Add(float64(t.retransmitsSkipped()))
		switch {
		case !t.video():
			fixed += t.fixedRate()
		case !t.state.UserPaused:
			s.inputs = append(s.inputs, t.input())
			s.inputIdx = append(s.inputIdx, i)
		}
	}
	if s.since.IsZero() && len(s.tracks) > 0 {
		s.since = now
	}
	in := allocator.Input{
		Estimate:      estimate,
		Unconstrained: mode == bwe.ModeNone && now.Sub(s.since) >= noFeedbackGrace,
		CanProbe:      mode == bwe.ModeTWCC,
		Fixed:         uint64(fixed),
		Delivered:     stats.Delivered,
		Verified:      stats.Verified,
		Tracks:        s.inputs,
	}
	res := s.alloc.Allocate(now, in, s.decisions)
	s.decisions = res.Decisions
	s.apply(in, res)
	s.report(estimate, mode, res)
	if res.Probe > 0 && !s.probe.running {
		s.startProbe(now, res.Probe, fixed+float64(res.Allocated))
	}
}

// logEstimate writes a debug line when the estimate moved by 10 % or more since the last one.
func (s *subscriberAllocation) logEstimate(estimate uint64, mode bwe.Mode, st bwe.Stats) {
	if mode == bwe.ModeNone {
		return
	}
	prev := s.loggedEst
	if prev != 0 && estimate*10 < prev*11 && estimate*10 > prev*9 {
		return
	}
	s.loggedEst = estimate
	s.log.Debug().Uint64("estimate", estimate).Uint64("previous", prev).Str("reason", st.Reason).
		Str("mode", mode.String()).Uint64("delivered", st.Delivered).Uint64("capacity", st.Capacity).
		Dur("queue", st.QueueDelay).Float64("loss", st.LossRatio).Msg("estimate changed")
}

// apply hands changed decisions to their down-tracks, logs each change and tells the client
// which tracks the allocator paused or resumed.
func (s *subscriberAllocation) apply(in allocator.Input, res allocator.Result) {
	var states []*livekit.StreamStateInfo
	for k, d := range res.Decisions {
		t := s.tracks[s.inputIdx[k]]
		if b := retransmitBudget(d.Layer, d.Bitrate, in.Unconstrained); b != t.rtxBudget {
			t.rtxBudget = b
			t.sink.SetRetransmitBudget(b)
		}
		if t.decided && t.layer == d.Layer {
			continue
		}
		from, first := t.layer, !t.decided
		t.layer, t.decided = d.Layer, true
		t.sink.SetAllocation(d.Layer)
		s.metrics.changes.Inc()
		s.log.Debug().Str("track", t.meta.sid).Int32("from", from).Int32("to", d.Layer).Bool("first", first).
			Bool("limited", d.Limited).Uint64("estimate", in.Estimate).Uint64("fixed", in.Fixed).
			Uint64("allocated", res.Allocated).Bool("unconstrained", in.Unconstrained).Msg("allocation changed")
		if paused := d.Layer == allocator.Paused; paused != t.paused {
			t.paused = paused
			state := livekit.StreamState_ACTIVE
			if paused {
				state = livekit.StreamState_PAUSED
			}
			states = append(states, &livekit.StreamStateInfo{
				ParticipantSid: t.meta.publisherSid, TrackSid: t.meta.sid, State: state})
		}
	}
	if len(states) > 0 {
		s.signal(&livekit.SignalResponse{Message: &livekit.SignalResponse_StreamStateUpdate{
			StreamStateUpdate: &livekit.StreamStateUpdate{StreamStates: states}}})
	}
}

// startProbe opens a probe window towards target bits/s on top of the current rate.
//
// A probe needs padding: if what is allocated already reaches target, the media alone is to
// reach it and none is started. Such a probe would measure only the media that flows, which
// early on (a track allocated but not arrived yet, e.g. over the relay) is much less than the
// allocation, and its "success" would pull an unverified estimate down to that.
func (s *subscriberAllocation) startProbe(now time.Time, target uint64, current float64) {
	rate := float64(target) - current
	if rate <= 0 {
		return
	}
	if err := s.est.StartProbe(now, target); err != nil {
		return
	}
	s.alloc.ProbeStarted(now)
	s.probe = probePump{
		running: true,
		end:     now.Add(s.cfg.ProbeWindow),
		rate:    rate,
		last:    now,
	}
	s.log.Debug().Uint64("target", target).Float64("padding", s.probe.rate).Msg("probe started")
	s.pumpPadding(now)
}

// pumpPadding writes the padding the probe owes by now, video tracks first; it closes the
// window at its end.
func (s *subscriberAllocation) pumpPadding(now time.Time) {
	p := &s.probe
	if !p.running {
		return
	}
	if !now.Before(p.end) {
		s.est.EndProbe(now)
		p.running = false
		return
	}
	if !s.est.ProbeWindowOpen() {
		p.running = false // the estimator closed it early: the probe filled a queue
		return
	}
	p.credit += p.rate * now.Sub(p.last).Seconds() / 8
	p.last = now
	// Owed padding that could not be sent (mid-frame) is kept for at most 50 ms worth, and
	// at least two packets' worth: a slow probe still sends whole packets.
	p.credit = min(p.credit, max(p.rate*0.05/8, 2*sfu.PaddingPacketWire))
	start := int(p.credit)
	budget := start
	for pass := 0; pass < 2 && budget >= sfu.PaddingPacketWire; pass++ {
		for _, t := range s.tracks {
			if t.video() != (pass == 0) || budget < sfu.PaddingPacketWire {
				continue
			}
			budget -= t.sink.WritePadding(budget)
		}
	}
	p.credit = max(p.credit-float64(start-budget), 0)
}

// report updates the node-wide gauges with this subscriber's contribution.
func (s *subscriberAllocation) report(estimate uint64, mode bwe.Mode, res allocator.Result) {
	r := &s.reported
	m := s.metrics
	est, alloc := float64(estimate), float64(res.Allocated)
	if mode == bwe.ModeNone {
		est = 0
	}
	m.estimate.Add(est - r.estimate)
	m.allocated.Add(alloc - r.allocated)
	m.paused.Add(float64(res.Paused - r.paused))
	if !r.counted || r.mode != mode {
		if r.counted {
			m.subscribers.WithLabelValues(r.mode.String()).Dec()
		}
		m.subscribers.WithLabelValues(mode.String()).Inc()
	}
	*r = allocReport{estimate: est, allocated: alloc, paused: res.Paused, mode: mode, counted: true}
}

// retract removes this subscriber's contribution from the gauges and closes a probe window
// (the allocation is stopping).
func (s *subscriberAllocation) retract() {
	r := &s.reported
	if r.counted {
		s.metrics.estimate.Sub(r.estimate)
		s.metrics.allocated.Sub(r.allocated)
		s.metrics.paused.Sub(float64(r.paused))
		s.metrics.subscribers.WithLabelValues(r.mode.String()).Dec()
	}
	*r = allocReport{}
	if s.probe.running {
		s.est.EndProbe(time.Now())
		s.probe.running = false
	}
}

func probeOutcomeOf(r bwe.ProbeResult) allocator.ProbeOutcome {
	switch {
	case r.Success:
		return allocator.ProbeRaised
	case r.Congested:
		return allocator.ProbeCongested
	default:
		return allocator.ProbeInconclusive
	}
}

func probeOutcome(r bwe.ProbeResult) string {
	switch {
	case r.Success:
		return "success"
	case r.Congested:
		return "congested"
	default:
		return "failed"
	}
}
