package node

import (
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/allocator"
	"github.com/edgemesh/edge/sfu/bwe"
)

// Stream allocation: every participant's subscriber connection has a bandwidth estimator
// (sfu/bwe, fed by the connection's TWCC feedback) and an allocation that shares the estimate
// across the participant's video down-tracks (sfu/allocator), applies the decisions to the
// down-tracks, tells the client which tracks it paused (StreamStateUpdate), and sends the
// padding the allocator's probes need. One goroutine of the node runs every allocation
// (allocScheduler).

// allocationConfig tunes stream allocation. The zero value is not valid; see
// defaultAllocationConfig.
type allocationConfig struct {
	// Disabled: no estimators, no allocations; subscribers get what they ask for.
	Disabled bool
	// Tick is how often a subscriber's allocation is recomputed.
	Tick time.Duration
	// ProbeWindow is how long a probe sends padding; PumpInterval how often
	// padding is written during it.
	ProbeWindow, PumpInterval time.Duration
	// BWE and Allocator tune the estimator and the allocation policy.
	BWE       bwe.Config
	Allocator allocator.Config
}

func defaultAllocationConfig() allocationConfig {
	return allocationConfig{
		Tick:         200 * time.Millisecond,
		ProbeWindow:  500 * time.Millisecond,
		PumpInterval: 10 * time.Millisecond,
	}
}

// allocations is the node's stream-allocation hub: the estimator factory shared by its
// subscriber-side APIs, the running per-subscriber allocations and their scheduler, and the
// metrics.
type allocations struct {
	node    *Node
	cfg     allocationConfig
	factory *bwe.Factory
	metrics *allocMetrics
	sched   *allocScheduler

	mu   sync.Mutex // guards subs
	subs map[*Participant]*subscriberAllocation
}

// newAllocations builds the hub of n and registers its metrics on the node's registry.
func newAllocations(n *Node, cfg allocationConfig) *allocations {
	return &allocations{
		node:    n,
		cfg:     cfg,
		factory: bwe.NewFactory(cfg.BWE),
		metrics: registerAllocationMetrics(n.metrics.registry, n.cfg.NodeID),
		sched:   newAllocScheduler(cfg.Tick, cfg.PumpInterval, n.goAdd, n.wg.Done),
		subs:    make(map[*Participant]*subscriberAllocation),
	}
}

// estimators is the factory to register on subscriber-side connections; nil when allocation
// is disabled.
func (a *allocations) estimators() *bwe.Factory {
	if a.cfg.Disabled {
		return nil
	}
	return a.factory
}

// estimator returns the bandwidth estimator of the connection with that ID, if allocation is on.
func (a *allocations) estimator(pcID string) (*bwe.Estimator, bool) {
	if a.cfg.Disabled {
		return nil, false
	}
	return a.factory.Estimator(pcID)
}

// start begins stream allocation for p once its subscriber connection exists (Participant.start).
// A connection without an estimator (none registered) is left unconstrained.
func (a *allocations) start(p *Participant) {
	p.mu.Lock()
	sub := p.subscriber
	p.mu.Unlock()
	if sub == nil || a.cfg.Disabled {
		return
	}
	est, ok := a.factory.Estimator(sub.pc.ID())
	if !ok {
		p.log.Debug().Msg("no bandwidth estimator for the subscriber connection")
		return
	}
	s := newSubscriberAllocation(subscriberAllocationParams{
		cfg:       a.cfg,
		estimator: est,
		signal:    p.sendSignal,
		metrics:   a.metrics,
		log:       p.log.With().Str("component", "allocator").Logger(),
		sched:     a.sched,
	})
	a.mu.Lock()
	if a.subs[p] != nil {
		a.mu.Unlock()
		return
	}
	a.subs[p] = s
	a.mu.Unlock()
	if p.isClosed() {
		// close ran stop before s was registered: nothing else would stop s.
		a.remove(p)
		return
	}
	if !a.sched.add(s) {
		a.remove(p)
		return
	}
	// Subscriptions made before the allocation was registered (other participants publish
	// concurrently); trackAdded after this point finds the allocation, and duplicates are ignored.
	p.mu.Lock()
	existing := make([]*subscription, 0, len(p.subs))
	for _, sub := range p.subs {
		existing = append(existing, sub)
	}
	p.mu.Unlock()
	for _, sub := range existing {
		a.trackAddedInfo(p, sub.info, sub)
	}
}

// stop ends p's allocation (Participant.close). Idempotent.
func (a *allocations) stop(p *Participant) {
	if s := a.remove(p); s != nil {
		s.stop()
	}
}

func (a *allocations) remove(p *Participant) *subscriberAllocation {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.subs[p]
	delete(a.subs, p)
	return s
}

func (a *allocations) get(p *Participant) *subscriberAllocation {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.subs[p]
}

// trackAddedInfo hands p's new down-track s, of the track described by info, to p's
// allocation.
func (a *allocations) trackAddedInfo(p *Participant, info *livekit.TrackInfo, s *subscription) {
	sa := a.get(p)
	if sa == nil {
		return
	}
	meta := trackMetaFrom(info)
	meta.sid, meta.publisherSid = s.trackSid, s.publisherSid
	sa.add(s.downTrack, meta)
}

// trackRemoved tells p's allocation that down-track s is gone.
func (a *allocations) trackRemoved(p *Participant, s *subscription) {
	if sa := a.get(p); sa != nil {
		sa.remove(s.downTrack)
	}
}

// trackMeta is what the allocator needs to know of a published track.
type trackMeta struct {
	sid, publisherSid string
	video             bool
	source            allocator.Source
	// layers are the simulcast layers the publisher announced (empty if it described none).
	// A layer may be announced and not arrive yet: the publisher stops sending layers nobody
	// needs (dynacast), so a layer the allocator never asks for might never arrive at all.
	layers sfu.LayerMask
	// Per layer (0 low .. 2 high): the publisher's declared size and bitrate, 0 if unknown.
	pixels   [sfu.NumLayers]uint32
	declared [sfu.NumLayers]uint64
	// pixelsAny is the track's size when no layer is described.
	pixelsAny uint32
}

func trackMetaFrom(info *livekit.TrackInfo) trackMeta {
	m := trackMeta{
		video:     info.Type == livekit.TrackType_VIDEO,
		pixelsAny: info.Width * info.Height,
	}
	if info.Source == livekit.TrackSource_SCREEN_SHARE {
		m.source = allocator.SourceScreen
	}
	for _, l := range info.Layers {
		q := int(l.Quality)
		if q < 0 || q >= sfu.NumLayers {
			continue
		}
		m.layers |= sfu.LayerBit(int32(q))
		m.pixels[q] = l.Width * l.Height
		m.declared[q] = uint64(l.Bitrate)
	}
	return m
}

// allocMetrics are the node-wide stream-allocation metrics: sums over the node's subscribers.
type allocMetrics struct {
	estimate    prometheus.Gauge
	allocated   prometheus.Gauge
	paused      prometheus.Gauge
	subscribers *prometheus.GaugeVec
	changes     prometheus.Counter
	probes      *prometheus.CounterVec
	padding     prometheus.Counter
	rtxSkipped  prometheus.Counter
}

// registerAllocationMetrics creates the allocation metrics on reg.
func registerAllocationMetrics(reg *prometheus.Registry, nodeID string) *allocMetrics {
	labels := prometheus.Labels{"node": nodeID}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "edge", Name: name, Help: help, ConstLabels: labels})
	}
	m := &allocMetrics{
		estimate: gauge("subscriber_estimate_bps",
			"Sum over subscribers of the estimated bandwidth towards them (bits/s)."),
		allocated: gauge("subscriber_allocated_bps",
			"Sum over subscribers of the video bitrate the stream allocator gives them (bits/s)."),
		paused: gauge("allocator_paused_tracks",
			"Video down-tracks paused by the stream allocator (the subscriber was sent StreamStateUpdate PAUSED)."),
		subscribers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "edge", Name: "allocator_subscribers",
			Help: "Subscribers under stream allocation, by what their estimate is based on (none, twcc, remb).", ConstLabels: labels},
			[]string{"mode"}),
		changes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "edge", Name: "allocator_changes_total",
			Help: "Layer or pause changes the stream allocator applied to down-tracks.", ConstLabels: labels}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "edge", Name: "allocator_probes_total",
			Help:        "Bandwidth probes by outcome (success: the estimate rose; congested: the link's capacity was hit; failed).",
			ConstLabels: labels}, []string{"result"}),
		padding: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "edge", Name: "allocator_padding_bytes_total",
			Help: "Bytes of RTP padding sent to probe subscribers' links (as on the wire).", ConstLabels: labels}),
		rtxSkipped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "edge",
			Name: "allocator_retransmits_skipped_total", ConstLabels: labels,
			Help: "NACKed packets not resent because the down-track's retransmission budget was spent."}),
	}
	reg.MustRegister(m.estimate, m.allocated, m.paused, m.subscribers, m.changes, m.probes, m.padding, m.rtxSkipped)
	return m
}
