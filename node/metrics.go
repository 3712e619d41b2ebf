package node

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgemesh/edge/udpgso"
)

// metrics is the node's Prometheus registry. Each node has its own, so several nodes can run in
// one process (tests). Media counters are read from sfu.Counters at scrape time.
type metrics struct {
	registry         *prometheus.Registry
	rooms            prometheus.Gauge
	participants     prometheus.Gauge
	tracksPublished  prometheus.Gauge
	tracksSubscribed prometheus.Gauge
	authFailures     prometheus.Counter
	badSignal        prometheus.Counter
	dataForwarded    *prometheus.CounterVec
	dataDropped      *prometheus.CounterVec
}

func newMetrics(n *Node) *metrics {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"node": n.cfg.NodeID}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "edge", Name: name, Help: help, ConstLabels: labels})
		reg.MustRegister(g)
		return g
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "edge", Name: name, Help: help, ConstLabels: labels})
		reg.MustRegister(c)
		return c
	}
	m := &metrics{
		registry:         reg,
		rooms:            gauge("rooms", "Rooms open on this node."),
		participants:     gauge("participants", "Participants connected to this node."),
		tracksPublished:  gauge("published_tracks", "Tracks published by participants on this node."),
		tracksSubscribed: gauge("subscribed_tracks", "Down-tracks forwarding to subscribers on this node."),
		authFailures:     counter("auth_failures_total", "Join attempts refused for token or grant reasons."),
		badSignal:        counter("signal_malformed_total", "Signal messages that did not decode (connection closed)."),
		dataForwarded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "edge", Name: "data_packets_forwarded_total",
			Help: "Data packets delivered to subscribers.", ConstLabels: labels}, []string{"channel"}),
		dataDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "edge", Name: "data_packets_dropped_total",
			Help: "Data packets not delivered, by reason.", ConstLabels: labels}, []string{"reason"}),
	}
	reg.MustRegister(m.dataForwarded, m.dataDropped)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newMeshCollector(n))

	c := n.counters
	fromCounter := func(name, help string, v *atomic.Uint64, extra prometheus.Labels) {
		l := prometheus.Labels{"node": n.cfg.NodeID}
		for k, val := range extra {
			l[k] = val
		}
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "edge", Name: name, Help: help, ConstLabels: l},
			func() float64 { return float64(v.Load()) }))
	}
	fromCounter("packets_total", "RTP packets received from publishers (in) and sent to subscribers (out).", &c.PacketsIn, prometheus.Labels{"direction": "in"})
	fromCounter("packets_total", "RTP packets received from publishers (in) and sent to subscribers (out).", &c.PacketsOut, prometheus.Labels{"direction": "out"})
	fromCounter("bytes_total", "RTP bytes received from publishers (in) and sent to subscribers (out).", &c.BytesIn, prometheus.Labels{"direction": "in"})
	fromCounter("bytes_total", "RTP bytes received from publishers (in) and sent to subscribers (out).", &c.BytesOut, prometheus.Labels{"direction": "out"})
	fromCounter("forward_drops_total", "Packets not forwarded to a down-track (other layer, waiting for keyframe, write error).", &c.PacketsDropped, nil)
	fromCounter("nacks_total", "Sequence numbers NACKed by subscribers.", &c.NACKsIn, nil)
	fromCounter("retransmits_total", "NACKed packets answered from a receiver cache.", &c.Retransmits, nil)
	fromCounter("retransmit_misses_total", "NACKed packets no longer in the cache.", &c.RetransmitMisses, nil)
	fromCounter("plis_total", "PLI/FIR from subscribers (in) and sent to publishers (out).", &c.PLIsIn, prometheus.Labels{"direction": "in"})
	fromCounter("plis_total", "PLI/FIR from subscribers (in) and sent to publishers (out).", &c.PLIsOut, prometheus.Labels{"direction": "out"})
	fromCounter("plis_throttled_total", "Keyframe requests suppressed by the per-layer throttle.", &c.PLIsThrottled, nil)
	registerUDPBatchMetrics(reg, n)
	registerEgressMetrics(reg, n)
	return m
}

// registerEgressMetrics exports the counters of the node's own SRTP sends (package egress).
func registerEgressMetrics(reg *prometheus.Registry, n *Node) {
	labels := prometheus.Labels{"node": n.cfg.NodeID}
	counter := func(name, help string, v *atomic.Uint64, extra prometheus.Labels) {
		l := prometheus.Labels{}
		for k, x := range labels {
			l[k] = x
		}
		for k, x := range extra {
			l[k] = x
		}
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "edge", Name: name, Help: help,
			ConstLabels: l}, func() float64 { return float64(v.Load()) }))
	}
	e := &n.egress
	counter("egress_direct_packets_total", "RTP packets the node encrypted and sent itself, past pion's writer.", &e.Packets, nil)
	counter("egress_direct_bytes_total", "SRTP bytes the node sent itself.", &e.Bytes, nil)
	counter("egress_direct_errors_total", "Direct sends that failed (marshal, encryption or socket).", &e.Errors, nil)
	counter("egress_rtcp_in_total", "Subscriber SRTCP packets the node read past pion's receive path.", &e.RTCPIn, nil)
	counter("egress_rtcp_in_errors_total", "Subscriber SRTCP packets refused on that path (not authentic, replayed or malformed).", &e.RTCPInErrors, nil)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "edge", Name: "egress_rtcp_intercepted_connections",
		Help: "Subscriber connections whose SRTCP the node reads itself now.", ConstLabels: labels}, func() float64 {
		if n.rtc == nil || n.rtc.inbound == nil {
			return 0
		}
		return float64(n.rtc.inbound.Len())
	}))
	const modeHelp = "Subscriber connections whose media the node began sending itself (direct) or handed to pion's writer (pion)."
	counter("egress_connections_total", modeHelp, &e.Direct, prometheus.Labels{"mode": "direct"})
	counter("egress_connections_total", modeHelp, &e.Pion, prometheus.Labels{"mode": "pion"})
}

// registerUDPBatchMetrics exports the counters of the ICE/UDP socket's send batching (zero
// when it is off, or before the node started).
func registerUDPBatchMetrics(reg *prometheus.Registry, n *Node) {
	stat := func(name, help string, field func(udpgso.Stats) uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "edge", Name: name, Help: help,
			ConstLabels: prometheus.Labels{"node": n.cfg.NodeID}}, func() float64 {
			if g := n.udpBatch(); g != nil {
				return float64(field(g.Stats()))
			}
			return 0
		}))
	}
	stat("udp_held_datagrams_total", "Datagrams to subscribers held during a fan-out burst and sent together.",
		func(s udpgso.Stats) uint64 { return s.Held })
	stat("udp_held_sends_total", "Send system calls that carried held datagrams.",
		func(s udpgso.Stats) uint64 { return s.Syscalls })
	stat("udp_gso_sends_total", "UDP GSO sends (several datagrams in one system call).",
		func(s udpgso.Stats) uint64 { return s.GSOSends })
	stat("udp_held_errors_total", "Held datagrams whose send failed.",
		func(s udpgso.Stats) uint64 { return s.Errors })
}
