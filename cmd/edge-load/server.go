package main

import (
	"fmt"
	"strconv"
)

// metricRef names one Prometheus series (summed over every label set that includes match).
type metricRef struct {
	name  string
	match map[string]string
}

// serverKind describes the SFU under measurement: how to start it on 127.0.0.1 and where its
// health check and counters are. edge is the default; livekit is the reference server
// (livekit-server 1.13, built by scripts/build-reference.sh), measured with the same publisher,
// subscribers and window so the two can be compared within one sitting on one machine.
type serverKind struct {
	name       string
	healthPath string
	args       func(p nodePorts, logLevel string) []string
	metricsURL func(p nodePorts) string
	pktsIn     metricRef
	pktsOut    metricRef
	bytesOut   metricRef
	subscribed string // gauge of subscribed tracks; "" = none
}

func edgeServer() serverKind {
	return serverKind{
		name:       "edge",
		healthPath: "/healthz",
		args: func(p nodePorts, logLevel string) []string {
			return []string{"serve", "--dev", "--bind", "127.0.0.1",
				"--port", strconv.Itoa(p.http),
				"--rtc-tcp-port", strconv.Itoa(p.rtcTCP),
				"--rtc-udp-port", strconv.Itoa(p.rtcUDP),
				"--standalone", // one node: no gossip or relay ports
				"--log-level", logLevel}
		},
		metricsURL: func(p nodePorts) string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", p.http) },
		pktsIn:     metricRef{"edge_packets_total", map[string]string{"direction": "in"}},
		pktsOut:    metricRef{"edge_packets_total", map[string]string{"direction": "out"}},
		bytesOut:   metricRef{"edge_bytes_total", map[string]string{"direction": "out"}},
		subscribed: "edge_subscribed_tracks",
	}
}

// livekitServer runs livekit-server single-node (no Redis) with the dev key pair. Its ICE
// is confined to loopback like the edge node's: explicit node IP 127.0.0.1 (so it asks no STUN
// server for an external address), loopback candidates only, sockets bound to 127.0.0.1.
func livekitServer() serverKind {
	return serverKind{
		name:       "livekit-server",
		healthPath: "/",
		args: func(p nodePorts, logLevel string) []string {
			return []string{"--config-body", fmt.Sprintf(`port: %d
bind_addresses: ["127.0.0.1"]
keys:
  devkey: secret
log_level: %s
prometheus:
  port: %d
rtc:
  tcp_port: %d
  udp_port: %d
  node_ip: 127.0.0.1
  use_external_ip: false
  enable_loopback_candidate: true
  interfaces:
    includes: ["lo"]
  ips:
    includes: ["127.0.0.0/8"]
`, p.http, logLevel, p.metrics, p.rtcTCP, p.rtcUDP)}
		},
		metricsURL: func(p nodePorts) string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", p.metrics) },
		pktsIn:     metricRef{"livekit_packet_total", map[string]string{"direction": "incoming"}},
		pktsOut:    metricRef{"livekit_packet_total", map[string]string{"direction": "outgoing"}},
		bytesOut:   metricRef{"livekit_packet_bytes", map[string]string{"direction": "outgoing"}},
		subscribed: "livekit_track_subscribed_total",
	}
}
