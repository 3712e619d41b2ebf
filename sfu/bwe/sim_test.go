package bwe

import (
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

// A simulated subscriber behind a bottleneck: a tbf-like FIFO that
// serialises packets at rateBps and drops what would queue longer than
// queueLimitUS, then a fixed propagation delay. The receiver records arrivals
// with pion's TWCC recorder and returns its feedback every 100 ms over an
// unconstrained path. The sender mimics the allocator: it sends the highest
// simulcast "layer" (plus audio) that fits the estimate, and probes for the
// next one every probeEvery with padding.

const (
	simStepUS        = 1_000
	simPacketSize    = 1_000
	simPaddingSize   = 275
	simFeedbackUS    = 100_000
	simProbeWindowUS = 500_000
	simAudioBps      = 40_000
	simAudioSize     = 100 // 50 packets/s
)

// simLayers are the video layers the simulated sender chooses from (the
// acceptance test's ~150k/500k/1.5M camera with RTP overhead).
var simLayers = []uint64{160_000, 520_000, 1_560_000}

type inFlight struct {
	seq       uint16
	arrivalUS int64
}

// simLink is a token bucket filter like tc tbf: tokens (bytes) refill at
// rateBps up to burst; a packet leaves once the packets before it have and
// enough tokens are there; one that would wait longer than queueLimitUS is
// dropped.
type simLink struct {
	rateBps      uint64
	burst        float64 // bytes
	queueLimitUS int64
	baseDelayUS  int64
	lastDepUS    int64   // departure of the previous packet
	tokens       float64 // at lastDepUS
}

// transmit returns the arrival time of a packet of size bytes handed to the
// link at t, or false if it is dropped.
func (l *simLink) transmit(t int64, size int) (int64, bool) {
	base := max(t, l.lastDepUS)
	tokens := min(l.burst, l.tokens+float64(base-l.lastDepUS)*float64(l.rateBps)/8/1e6)
	dep := base
	if tokens < float64(size) {
		dep += int64((float64(size) - tokens) * 8 * 1e6 / float64(l.rateBps))
		tokens = float64(size)
	}
	if dep-t > l.queueLimitUS {
		return 0, false
	}
	l.lastDepUS, l.tokens = dep, tokens-float64(size)
	return dep + l.baseDelayUS, true
}

// wireRate is what a stream of packets of size bytes at rtpBps takes on the wire.
func wireRate(rtpBps uint64, size int) uint64 {
	return rtpBps * uint64(size+PacketOverhead) / uint64(size)
}

type sim struct {
	e    *Estimator
	link simLink
	rec  *twcc.Recorder

	nowUS     int64
	seq       uint16
	inflight  []inFlight
	feedbacks []struct {
		atUS int64
		pkts []rtcp.Packet
	}
	nextFB      int64
	mediaCredit float64 // bytes owed to the video schedule
	audioCredit float64
	padCredit   float64

	layer      int // chosen layer, -1 = video paused
	probeEvery int64
	nextProbe  int64
	probing    bool
	probeEnd   int64
	probeRate  uint64 // padding rate during the window

	sent, lost int // media packets since the last reset of the counters
	probes     []ProbeResult
}

func newSim(cfg Config, rateBps uint64) *sim {
	s := &sim{
		e:          New(cfg),
		link:       simLink{queueLimitUS: 200_000, baseDelayUS: 20_000},
		rec:        twcc.NewRecorder(1),
		nextFB:     simFeedbackUS,
		layer:      len(simLayers) - 1,
		probeEvery: 2_000_000,
		nextProbe:  1_000_000,
	}
	s.setRate(rateBps)
	return s
}

// setRate changes the link rate; the bucket holds 100 ms of it (at least 2000 bytes).
func (s *sim) setRate(bps uint64) {
	s.link.rateBps = bps
	s.link.burst = max(2000, float64(bps)/8/10)
}

func (s *sim) at(us int64) time.Time { return s.e.epoch.Add(time.Duration(us) * time.Microsecond) }

// videoRate is the rate of the chosen layer.
func (s *sim) videoRate() uint64 {
	if s.layer < 0 {
		return 0
	}
	return simLayers[s.layer]
}

// mediaRate is the rate of what the sender chose to send, as on the wire.
func (s *sim) mediaRate() uint64 {
	return wireRate(s.videoRate(), simPacketSize) + wireRate(simAudioBps, simAudioSize)
}

// choose picks the highest layer that fits the estimate, like the allocator.
func (s *sim) choose() {
	est, _ := s.e.Estimate()
	s.layer = -1
	for i, l := range simLayers {
		if wireRate(l, simPacketSize)+wireRate(simAudioBps, simAudioSize) <= est {
			s.layer = i
		}
	}
}

func (s *sim) send(size int, padding bool) {
	s.seq++
	s.e.OnPacketSent(s.seq, size, s.at(s.nowUS))
	arr, ok := s.link.transmit(s.nowUS, size+PacketOverhead)
	if !padding {
		s.sent++
		if !ok {
			s.lost++
		}
	}
	if ok {
		s.inflight = append(s.inflight, inFlight{seq: s.seq, arrivalUS: arr})
	}
}

// run advances the simulation by d.
func (s *sim) run(d time.Duration) {
	end := s.nowUS + d.Microseconds()
	for ; s.nowUS < end; s.nowUS += simStepUS {
		s.step()
	}
}

func (s *sim) step() {
	// Sender: media at the chosen rate, padding while probing.
	s.mediaCredit += float64(s.videoRate()) / 8 * simStepUS / 1e6
	for s.mediaCredit >= simPacketSize {
		s.mediaCredit -= simPacketSize
		s.send(simPacketSize, false)
	}
	s.audioCredit += float64(simAudioBps) / 8 * simStepUS / 1e6
	for s.audioCredit >= simAudioSize {
		s.audioCredit -= simAudioSize
		s.send(simAudioSize, false)
	}
	if s.probing && !s.e.ProbeWindowOpen() {
		s.probing, s.padCredit = false, 0 // closed early: the probe filled a queue
	}
	if s.probing {
		s.padCredit += float64(s.probeRate) / 8 * simStepUS / 1e6
		for s.padCredit >= simPaddingSize {
			s.padCredit -= simPaddingSize
			s.send(simPaddingSize, true)
		}
		if s.nowUS >= s.probeEnd {
			s.e.EndProbe(s.at(s.nowUS))
			s.probing, s.padCredit = false, 0
		}
	}
	// Receiver: arrivals, and feedback every 100 ms (delivered 20 ms later).
	kept := s.inflight[:0]
	for _, p := range s.inflight {
		if p.arrivalUS <= s.nowUS {
			s.rec.Record(2, p.seq, p.arrivalUS)
		} else {
			kept = append(kept, p)
		}
	}
	s.inflight = kept
	if s.nowUS >= s.nextFB {
		s.nextFB += simFeedbackUS
		if pkts := s.rec.BuildFeedbackPacket(); len(pkts) > 0 {
			s.feedbacks = append(s.feedbacks, struct {
				atUS int64
				pkts []rtcp.Packet
			}{s.nowUS + s.link.baseDelayUS, pkts})
		}
	}
	for len(s.feedbacks) > 0 && s.feedbacks[0].atUS <= s.nowUS {
		for _, p := range s.feedbacks[0].pkts {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				_ = s.e.OnTransportCC(fb, s.at(s.nowUS))
			}
		}
		s.feedbacks = s.feedbacks[1:]
	}
	// Controller: every 100 ms re-choose, run timers, probe for the next layer.
	if s.nowUS%100_000 == 0 {
		s.e.Update(s.at(s.nowUS))
		if r, ok := s.e.ProbeResult(); ok {
			s.probes = append(s.probes, r)
			s.nextProbe = s.nowUS + s.probeEvery
			if r.Success {
				s.nextProbe = s.nowUS + 500_000
			}
		}
		s.choose()
		s.maybeProbe()
	}
}

func (s *sim) maybeProbe() {
	if s.probing || s.nowUS < s.nextProbe || s.layer == len(simLayers)-1 {
		return
	}
	goal := wireRate(simLayers[s.layer+1], simPacketSize) + wireRate(simAudioBps, simAudioSize)
	est, _ := s.e.Estimate()
	target := min(goal*105/100, max(est, s.e.Stats().Delivered)*3/2)
	if target <= s.mediaRate() {
		return
	}
	if s.e.StartProbe(s.at(s.nowUS), target) != nil {
		return
	}
	// Padding is paced in RTP bytes: convert the wire-rate gap.
	s.probing, s.probeEnd = true, s.nowUS+simProbeWindowUS
	s.probeRate = (target - s.mediaRate()) * simPaddingSize / (simPaddingSize + PacketOverhead)
	s.nextProbe = s.nowUS + 10_000_000 // until the result arrives
}

func (s *sim) resetCounters() { s.sent, s.lost = 0, 0 }

func (s *sim) lossRatio() float64 {
	if s.sent == 0 {
		return 0
	}
	return float64(s.lost) / float64(s.sent)
}
