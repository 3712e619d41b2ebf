package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"
)

// probe is one sample of everything measured, taken at the start and at the end of the window.
type probe struct {
	at        time.Time
	nodeTicks int64
	loadTicks int64
	host      hostCPU
	udp       udpStats
	metrics   scrape
	subs      []subSnap
	dynacast  dynacastSnap
}

// prober takes probes of one node and one set of subscribers.
type prober struct {
	kind       serverKind
	nodePID    int
	metricsURL string
	client     *http.Client
	subs       []*subscriber
	dynacast   *dynacastLog
}

func (p *prober) take(ctx context.Context) (probe, error) {
	var pr probe
	var err error
	if pr.metrics, err = fetchMetrics(ctx, p.client, p.metricsURL); err != nil {
		return pr, err
	}
	pr.at = time.Now()
	if pr.nodeTicks, err = procCPUTicks(p.nodePID); err != nil {
		return pr, err
	}
	if pr.loadTicks, err = procCPUTicks(os.Getpid()); err != nil {
		return pr, err
	}
	if pr.host, err = readHostCPU(); err != nil {
		return pr, err
	}
	if pr.udp, err = readUDPStats(); err != nil {
		return pr, err
	}
	pr.dynacast = p.dynacast.snapshot()
	pr.subs = make([]subSnap, len(p.subs))
	for i, s := range p.subs {
		pr.subs[i] = s.snapshot()
	}
	return pr, nil
}

// diff turns two probes into the window's measurement. Subscriber counters are only ever
// appended, so the i-th counter of a subscriber is the same track in both probes; counters
// that appeared during the window count from zero.
func diff(kind serverKind, a, b probe, ticksPerSec int64) (measurement, error) {
	m := measurement{
		server:     kind.name,
		subs:       len(b.subs),
		duration:   b.at.Sub(a.at),
		nodeCPUSec: float64(b.nodeTicks-a.nodeTicks) / float64(ticksPerSec),
		loadCPUSec: float64(b.loadTicks-a.loadTicks) / float64(ticksPerSec),
		hostBusy:   busyFraction(a.host, b.host),
		udpIn:      b.udp.inDatagrams - a.udp.inDatagrams,
		udpDrops:   b.udp.rcvbufErrors - a.udp.rcvbufErrors,
	}
	for _, c := range []struct {
		ref metricRef
		dst *uint64
	}{
		{kind.pktsIn, &m.nodePktsIn},
		{kind.pktsOut, &m.nodePktsOut},
		{kind.bytesOut, &m.nodeBytesOut},
	} {
		va, err := a.metrics.must(c.ref.name, c.ref.match)
		if err != nil {
			return m, err
		}
		vb, err := b.metrics.must(c.ref.name, c.ref.match)
		if err != nil {
			return m, err
		}
		*c.dst = uint64(max(vb-va, 0))
	}
	for _, c := range []struct {
		name string
		dst  *uint64
	}{
		{"edge_udp_held_datagrams_total", &m.udpHeld},
		{"edge_udp_held_sends_total", &m.udpHeldSends},
		{"edge_udp_gso_sends_total", &m.udpGSOSends},
	} { // send batching counters: absent from nodes without it, then zero
		va, _ := a.metrics.sum(c.name, nil)
		vb, _ := b.metrics.sum(c.name, nil)
		*c.dst = uint64(max(vb-va, 0))
	}
	if kind.subscribed != "" {
		m.subscribedTracks, _ = b.metrics.sum(kind.subscribed, nil)
	}
	for i := range m.layerPaused {
		m.layerPaused[i] = b.dynacast.paused[i] - a.dynacast.paused[i]
		m.layerPauses[i] = b.dynacast.pauses[i] - a.dynacast.pauses[i]
		m.layerPausedAtEnd[i] = b.dynacast.now[i]
	}

	if len(a.subs) != len(b.subs) {
		return m, fmt.Errorf("probe mismatch: %d vs %d subscribers", len(a.subs), len(b.subs))
	}
	top := simulcastLayers()[2]
	first := true
	for i, end := range b.subs {
		start := a.subs[i]
		var subVideo uint64
		var lastW, lastH uint16
		for j, t := range end.tracks {
			var s0 counterSnap
			if j < len(start.tracks) {
				s0 = start.tracks[j]
			}
			pkts := t.packets - s0.packets
			exp := t.expected - s0.expected
			if t.video {
				m.videoPkts += pkts
				m.videoExpected += exp
				m.videoBytes += t.bytes - s0.bytes
				subVideo += pkts
				if t.keyWidth != 0 {
					lastW, lastH = t.keyWidth, t.keyHeight
				}
				if pkts > 0 {
					m.videoTracks++
				}
			} else {
				m.audioPkts += pkts
				m.audioExpected += exp
				if pkts > 0 {
					m.audioTracks++
				}
			}
		}
		if lastW == top.width && lastH == top.height {
			m.hdSubs++
		}
		if first || subVideo < m.minVideoPktsSub {
			m.minVideoPktsSub = subVideo
		}
		m.maxVideoPktsSub = max(m.maxVideoPktsSub, subVideo)
		first = false
	}
	return m, nil
}
