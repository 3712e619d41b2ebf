package node

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgemesh/edge/relay"
	"github.com/edgemesh/edge/sfu"
)

// meshCollector exports the relay links' and the gossip directory's counters at scrape time:
// the media path keeps plain atomics, and nothing here runs per packet.
type meshCollector struct {
	n *Node

	sent, received, rtt, lost, subs, served, nacks, down, members, dirMalformed, dirApplied *prometheus.Desc
}

func newMeshCollector(n *Node) *meshCollector {
	labels := prometheus.Labels{"node": n.cfg.NodeID}
	d := func(name, help string, vars ...string) *prometheus.Desc {
		return prometheus.NewDesc("edge_"+name, help, vars, labels)
	}
	return &meshCollector{
		n:            n,
		sent:         d("relay_sent_bytes_total", "Bytes this node sent to a peer edge over the relay.", "peer", "kind", "layer"),
		received:     d("relay_received_bytes_total", "Bytes this node received from a peer edge over the relay.", "peer", "kind", "layer"),
		rtt:          d("relay_rtt_seconds", "Round trip to a peer edge on its relay link.", "peer"),
		lost:         d("relay_lost_packets_total", "Relayed packets from a peer that never arrived (not recovered by NACK).", "peer"),
		subs:         d("relay_subscriptions", "Tracks this node receives from a peer edge.", "peer"),
		served:       d("relay_served_tracks", "Tracks of this node a peer edge receives.", "peer"),
		nacks:        d("relay_nacks_sent_total", "Sequence numbers this node NACKed to a peer edge.", "peer"),
		down:         d("relay_link_down", "1 while the relay link to a peer edge could not be brought up and routes go around it.", "peer"),
		members:      d("gossip_members", "Cluster members by liveness.", "liveness"),
		dirMalformed: d("gossip_messages_malformed_total", "Directory messages dropped because they did not decode."),
		dirApplied:   d("gossip_records_applied_total", "Remote directory writes that changed the directory."),
	}
}

func (c *meshCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sent, c.received, c.rtt, c.lost, c.subs, c.served, c.nacks,
		c.down, c.members, c.dirMalformed, c.dirApplied} {
		ch <- d
	}
}

func (c *meshCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.n.mesh
	if m == nil {
		return
	}
	for _, p := range m.relay.Stats().Peers {
		traffic(ch, c.sent, p.NodeID, p.Sent)
		traffic(ch, c.received, p.NodeID, p.Received)
		ch <- prometheus.MustNewConstMetric(c.rtt, prometheus.GaugeValue, p.RTT.Seconds(), p.NodeID)
		ch <- prometheus.MustNewConstMetric(c.lost, prometheus.CounterValue, float64(p.LostPackets), p.NodeID)
		ch <- prometheus.MustNewConstMetric(c.subs, prometheus.GaugeValue, float64(p.Subscriptions), p.NodeID)
		ch <- prometheus.MustNewConstMetric(c.served, prometheus.GaugeValue, float64(p.Served), p.NodeID)
		ch <- prometheus.MustNewConstMetric(c.nacks, prometheus.CounterValue, float64(p.NACKsSent), p.NodeID)
	}
	for _, l := range m.downLinks(time.Now()) {
		ch <- prometheus.MustNewConstMetric(c.down, prometheus.GaugeValue, 1, l.To)
	}
	count := map[string]float64{}
	for _, ni := range m.cluster.Nodes() {
		count[ni.Liveness.String()]++
	}
	for l, v := range count {
		ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, v, l)
	}
	st := m.cluster.Stats()
	ch <- prometheus.MustNewConstMetric(c.dirMalformed, prometheus.CounterValue, float64(st.MessagesMalformed))
	ch <- prometheus.MustNewConstMetric(c.dirApplied, prometheus.CounterValue, float64(st.RecordsApplied))
}

// traffic emits one peer's byte counters by kind and layer.
func traffic(ch chan<- prometheus.Metric, d *prometheus.Desc, peer string, t relay.Traffic) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(t.Audio), peer, "audio", "0")
	for l := range sfu.NumLayers {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(t.Video[l]), peer, "video", strconv.Itoa(l))
	}
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(t.Data), peer, "data", "")
}
