package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Reference bar (livekit-server 1.13 on comparable hardware) and the project's target ratio.
const (
	refCPUMsPerVideoTrackSec = 3.8
	refRSSMBPerSub           = 1.5
	targetRatio              = 0.7
	mib                      = 1 << 20
)

// measurement is everything sampled over the measuring window (deltas unless noted).
type measurement struct {
	server   string // the server measured: edge or livekit-server
	subs     int
	duration time.Duration // actual wall time between the two samples

	nodeCPUSec   float64 // node utime+stime
	pubOnlyCores float64 // node CPU with the publisher only, before subscribers joined (cores)
	loadCPUSec   float64 // load generator utime+stime (for context)
	hostBusy     float64 // machine-wide busy share, 0..1
	udpIn        uint64  // UDP datagrams delivered to sockets, whole host
	udpDrops     uint64  // UDP datagrams dropped for full socket receive buffers, whole host

	rssBeforeSubs uint64 // node VmRSS with the publisher only (absolute)
	rssEnd        uint64 // node VmRSS at the end of the window (absolute)

	nodePktsIn, nodePktsOut, nodeBytesOut uint64
	udpHeld, udpHeldSends, udpGSOSends    uint64  // the node's send batching (edge_udp_*)
	subscribedTracks                      float64 // the node's subscribed-tracks gauge at the end (absolute)

	audioTracks, videoTracks int // subscriber tracks that received packets in the window
	audioPkts, videoPkts     uint64
	audioExpected            uint64
	videoExpected            uint64
	videoBytes               uint64
	minVideoPktsSub          uint64 // fewest video packets any subscriber received
	maxVideoPktsSub          uint64
	hdSubs                   int // subscribers whose last video keyframe was 1280x720

	pub publisherStats

	layerPaused      [3]time.Duration // time each layer (q, h, f) was paused by dynacast in the window
	layerPauses      [3]int           // pauses that began in the window
	layerPausedAtEnd [3]bool
}

// result holds the derived figures printed in the table.
type result struct {
	trackSec, videoTrackSec  float64
	cpuMsPerTrackSec         float64
	cpuMsPerVideoSecAll      float64 // all node CPU charged to the video tracks
	cpuMsPerVideoSecShare    float64 // node CPU × video share of received packets
	cpuMsPerVideoSecMarginal float64 // (node CPU − publisher-only CPU) charged to the video tracks
	videoShare               float64
	rssMBPerSub              float64 // MiB
	fwdPktsPerSec            float64
	recvPktsPerSec           float64
	audioLoss, videoLoss     float64
	videoKbpsPerSub          float64
	nodeCores, loadCores     float64
	cpuRatio, rssRatio       float64 // against the reference bar
	minVideoPPS, maxVideoPPS float64
}

func compute(m measurement) result {
	secs := m.duration.Seconds()
	var r result
	if secs <= 0 {
		return r
	}
	r.trackSec = float64(m.audioTracks+m.videoTracks) * secs
	r.videoTrackSec = float64(m.videoTracks) * secs
	cpuMs := m.nodeCPUSec * 1000
	if total := m.audioPkts + m.videoPkts; total > 0 {
		r.videoShare = float64(m.videoPkts) / float64(total)
	}
	if r.trackSec > 0 {
		r.cpuMsPerTrackSec = cpuMs / r.trackSec
	}
	if r.videoTrackSec > 0 {
		r.cpuMsPerVideoSecAll = cpuMs / r.videoTrackSec
		r.cpuMsPerVideoSecShare = cpuMs * r.videoShare / r.videoTrackSec
		r.cpuMsPerVideoSecMarginal = max(cpuMs-m.pubOnlyCores*secs*1000, 0) / r.videoTrackSec
		r.videoKbpsPerSub = float64(m.videoBytes) * 8 / 1000 / r.videoTrackSec
	}
	if m.subs > 0 {
		r.rssMBPerSub = (float64(m.rssEnd) - float64(m.rssBeforeSubs)) / mib / float64(m.subs)
		r.minVideoPPS = float64(m.minVideoPktsSub) / secs
		r.maxVideoPPS = float64(m.maxVideoPktsSub) / secs
	}
	r.fwdPktsPerSec = float64(m.nodePktsOut) / secs
	r.recvPktsPerSec = float64(m.audioPkts+m.videoPkts) / secs
	r.audioLoss = lossRate(m.audioPkts, m.audioExpected)
	r.videoLoss = lossRate(m.videoPkts, m.videoExpected)
	r.nodeCores = m.nodeCPUSec / secs
	r.loadCores = m.loadCPUSec / secs
	r.cpuRatio = r.cpuMsPerVideoSecAll / refCPUMsPerVideoTrackSec
	r.rssRatio = r.rssMBPerSub / refRSSMBPerSub
	return r
}

// lossRate is 1 - received/expected, clamped to [0,1]; duplicates can make received exceed
// expected, so this is a lower bound on true loss.
func lossRate(received, expected uint64) float64 {
	if expected == 0 || received >= expected {
		return 0
	}
	return 1 - float64(received)/float64(expected)
}

// printReport writes the human-readable table and details, then a Markdown row for
// BENCHMARKS.md.
func printReport(w io.Writer, m measurement, r result) {
	fmt.Fprintf(w, "\nedge-load: %s, %d subscribers, %.1f s measured\n\n", m.server, m.subs, m.duration.Seconds())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "subs\ttrack-s\tvideo track-s\tCPU ms/track-s\tCPU ms/720p-s (all)\tCPU ms/720p-s (pkt share)\tRSS MiB/sub\tfwd pkts/s\trecv pkts/s\tloss a/v\t")
	fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.3f\t%.3f\t%.3f\t%.3f\t%.0f\t%.0f\t%s\t\n",
		m.subs, r.trackSec, r.videoTrackSec, r.cpuMsPerTrackSec, r.cpuMsPerVideoSecAll,
		r.cpuMsPerVideoSecShare, r.rssMBPerSub, r.fwdPktsPerSec, r.recvPktsPerSec,
		fmt.Sprintf("%.2f%%/%.2f%%", 100*r.audioLoss, 100*r.videoLoss))
	_ = tw.Flush()

	fmt.Fprintf(w, "\nreference livekit-server 1.13 (the issue's figures; scripts/compare-reference.sh measures it on this host): %.1f ms CPU per 720p track-s, %.1f MB RSS per subscriber; target < %.1fx\n",
		refCPUMsPerVideoTrackSec, refRSSMBPerSub, targetRatio)
	fmt.Fprintf(w, "ratio to reference: CPU %.2fx (all CPU on video), %.2fx (packet share); RSS %.2fx\n",
		r.cpuRatio, r.cpuMsPerVideoSecShare/refCPUMsPerVideoTrackSec, r.rssRatio)
	fmt.Fprintf(w, "publisher only (before subscribers): node %.3f cores; CPU beyond that per 720p track-s: %.3f ms\n",
		m.pubOnlyCores, r.cpuMsPerVideoSecMarginal)
	fmt.Fprintf(w, "node: %.3f CPU s = %.2f cores; RSS %.1f MiB before subscribers, %.1f MiB at end; subscribed tracks (node gauge) %.0f\n",
		m.nodeCPUSec, r.nodeCores, float64(m.rssBeforeSubs)/mib, float64(m.rssEnd)/mib, m.subscribedTracks)
	fmt.Fprintf(w, "node packets: in %.0f/s, out %.0f/s (%.1f Mbit/s out)\n",
		float64(m.nodePktsIn)/m.duration.Seconds(), r.fwdPktsPerSec, float64(m.nodeBytesOut)*8/1e6/m.duration.Seconds())
	fmt.Fprintf(w, "send batching: %s\n", batchingText(m))
	fmt.Fprintf(w, "subscribers: %d audio + %d video tracks flowing; video %.0f kbit/s per sub, %.1f..%.1f pkts/s per sub; %d/%d last saw a 1280x720 keyframe; video share of packets %.1f%%\n",
		m.audioTracks, m.videoTracks, r.videoKbpsPerSub, r.minVideoPPS, r.maxVideoPPS, m.hdSubs, m.subs, 100*r.videoShare)
	fmt.Fprintf(w, "publisher keyframe requests (PLI/FIR) per layer: %s\n", layerCounts(m.pub.rid, m.pub.plis))
	fmt.Fprintf(w, "dynacast (layers the node paused at the publisher) in the window: %s\n", pausedText(m))
	fmt.Fprintf(w, "load generator: %.2f cores; host busy %.0f%% (node and load generator share the machine's cores)\n",
		r.loadCores, 100*m.hostBusy)
	fmt.Fprintf(w, "host UDP: %d datagrams received, %d dropped for full socket receive buffers (whole host, any process)\n",
		m.udpIn, m.udpDrops)
	fmt.Fprintf(w, "\nmarkdown: | %d | %.0f s | %.3f | %.3f | %.3f | %.3f | %.0f | %.2f%% / %.2f%% | %d | %.2f | %.2f | %.0f%% |\n",
		m.subs, m.duration.Seconds(), r.cpuMsPerTrackSec, r.cpuMsPerVideoSecAll, r.cpuMsPerVideoSecShare,
		r.rssMBPerSub, r.fwdPktsPerSec, 100*r.audioLoss, 100*r.videoLoss, m.udpDrops, r.nodeCores, r.loadCores, 100*m.hostBusy)
}

func pausedText(m measurement) string {
	rids := simulcastLayers()
	parts := make([]string, 0, len(rids))
	for i, l := range rids {
		t := fmt.Sprintf("%s paused %.1fs (%d pauses)", l.rid, m.layerPaused[i].Seconds(), m.layerPauses[i])
		if m.layerPausedAtEnd[i] {
			t += ", paused at end"
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, "; ")
}

func layerCounts(rid [3]string, n [3]uint64) string {
	parts := make([]string, 0, len(rid))
	for i := range rid {
		parts = append(parts, fmt.Sprintf("%s=%d", rid[i], n[i]))
	}
	return strings.Join(parts, " ")
}

// batchingText describes the node's send batching in the window.
func batchingText(m measurement) string {
	if m.udpHeldSends == 0 || m.nodePktsOut == 0 {
		return "none (off, or no bursts)"
	}
	return fmt.Sprintf("%.1f%% of forwarded packets held, %.2f datagrams per send, %.0f GSO sends/s",
		100*float64(m.udpHeld)/float64(m.nodePktsOut), float64(m.udpHeld)/float64(m.udpHeldSends),
		float64(m.udpGSOSends)/m.duration.Seconds())
}
