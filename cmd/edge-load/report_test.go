package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLossRate(t *testing.T) {
	tests := []struct {
		recv, exp uint64
		want      float64
	}{
		{0, 0, 0},
		{100, 100, 0},
		{99, 100, 0.01},
		{101, 100, 0}, // duplicates
		{0, 10, 1},
	}
	for _, tt := range tests {
		require.InDelta(t, tt.want, lossRate(tt.recv, tt.exp), 1e-12, "%d/%d", tt.recv, tt.exp)
	}
}

func TestCompute(t *testing.T) {
	m := measurement{
		subs:          50,
		duration:      10 * time.Second,
		nodeCPUSec:    4,   // 4000 ms
		pubOnlyCores:  0.1, // 1000 ms over the window
		loadCPUSec:    12,  // 1.2 cores
		rssBeforeSubs: 100 * mib,
		rssEnd:        150 * mib,
		nodePktsOut:   150_000,
		audioTracks:   50, videoTracks: 50,
		audioPkts: 25_000, videoPkts: 100_000,
		audioExpected: 25_000, videoExpected: 101_000,
		videoBytes: 50 * 10 * 1_900_000 / 8,
		udpDrops:   17,
	}
	r := compute(m)
	require.InDelta(t, 1000.0, r.trackSec, 1e-9)
	require.InDelta(t, 500.0, r.videoTrackSec, 1e-9)
	require.InDelta(t, 4.0, r.cpuMsPerTrackSec, 1e-9)
	require.InDelta(t, 8.0, r.cpuMsPerVideoSecAll, 1e-9)
	require.InDelta(t, 0.8, r.videoShare, 1e-9)
	require.InDelta(t, 6.4, r.cpuMsPerVideoSecShare, 1e-9)
	require.InDelta(t, 6.0, r.cpuMsPerVideoSecMarginal, 1e-9)
	require.InDelta(t, 1.0, r.rssMBPerSub, 1e-9)
	require.InDelta(t, 15_000.0, r.fwdPktsPerSec, 1e-9)
	require.InDelta(t, 12_500.0, r.recvPktsPerSec, 1e-9)
	require.InDelta(t, 1_900.0, r.videoKbpsPerSub, 1e-9)
	require.InDelta(t, 0, r.audioLoss, 1e-12)
	require.InDelta(t, 1000.0/101_000, r.videoLoss, 1e-12)
	require.InDelta(t, 0.4, r.nodeCores, 1e-9)
	require.InDelta(t, 1.2, r.loadCores, 1e-9)
	require.InDelta(t, 8.0/3.8, r.cpuRatio, 1e-9)
	require.InDelta(t, 1.0/1.5, r.rssRatio, 1e-9)

	require.Equal(t, result{}, compute(measurement{subs: 3}), "zero duration gives zeros, not NaN")

	var out bytes.Buffer
	printReport(&out, m, r)
	require.Contains(t, out.String(), "markdown: | 50 | 10 s | 4.000 | 8.000 | 6.400 | 1.000 | 15000 | 0.00% / 0.99% | 17 | 0.40 | 1.20 |")
}

func TestDiff(t *testing.T) {
	metrics := func(in, out, bytes float64) scrape {
		return scrape{
			{name: "edge_packets_total", labels: map[string]string{"direction": "in"}, value: in},
			{name: "edge_packets_total", labels: map[string]string{"direction": "out"}, value: out},
			{name: "edge_bytes_total", labels: map[string]string{"direction": "out"}, value: bytes},
			{name: "edge_subscribed_tracks", value: 4},
		}
	}
	t0 := time.Unix(1000, 0)
	a := probe{
		at: t0, nodeTicks: 100, loadTicks: 1000, host: hostCPU{busy: 0, total: 0},
		udp:      udpStats{inDatagrams: 1000, rcvbufErrors: 5},
		dynacast: dynacastSnap{paused: [3]time.Duration{0, time.Second, 0}, pauses: [3]int{0, 1, 0}},
		metrics:  metrics(10, 100, 1000),
		subs: []subSnap{
			{tracks: []counterSnap{{video: false, packets: 5, expected: 5}, {video: true, packets: 50, expected: 50, bytes: 500}}},
			{tracks: []counterSnap{{video: false, packets: 5, expected: 5}}},
		},
	}
	b := probe{
		at: t0.Add(2 * time.Second), nodeTicks: 300, loadTicks: 1400, host: hostCPU{busy: 300, total: 400},
		udp: udpStats{inDatagrams: 3000, rcvbufErrors: 12},
		dynacast: dynacastSnap{paused: [3]time.Duration{0, 3 * time.Second, time.Second}, pauses: [3]int{0, 2, 1},
			now: [3]bool{false, true, false}},
		metrics: metrics(110, 1100, 11000),
		subs: []subSnap{
			{tracks: []counterSnap{{video: false, packets: 105, expected: 105},
				{video: true, packets: 250, expected: 260, bytes: 2500, keyWidth: 1280, keyHeight: 720}}},
			{tracks: []counterSnap{{video: false, packets: 105, expected: 106},
				{video: true, packets: 100, expected: 100, keyWidth: 640, keyHeight: 360}}}, // joined in the window
		},
	}
	m, err := diff(edgeServer(), a, b, 100)
	require.NoError(t, err)
	require.Equal(t, 2, m.subs)
	require.Equal(t, 2*time.Second, m.duration)
	require.InDelta(t, 2.0, m.nodeCPUSec, 1e-9)
	require.InDelta(t, 4.0, m.loadCPUSec, 1e-9)
	require.InDelta(t, 0.75, m.hostBusy, 1e-9)
	require.EqualValues(t, 2000, m.udpIn)
	require.EqualValues(t, 7, m.udpDrops)
	require.Equal(t, [3]time.Duration{0, 2 * time.Second, time.Second}, m.layerPaused)
	require.Equal(t, [3]int{0, 1, 1}, m.layerPauses)
	require.Equal(t, [3]bool{false, true, false}, m.layerPausedAtEnd)
	require.EqualValues(t, 100, m.nodePktsIn)
	require.EqualValues(t, 1000, m.nodePktsOut)
	require.EqualValues(t, 10000, m.nodeBytesOut)
	require.InDelta(t, 4.0, m.subscribedTracks, 1e-9)
	require.Equal(t, 2, m.audioTracks)
	require.Equal(t, 2, m.videoTracks)
	require.EqualValues(t, 200, m.audioPkts)
	require.EqualValues(t, 201, m.audioExpected)
	require.EqualValues(t, 300, m.videoPkts)
	require.EqualValues(t, 310, m.videoExpected)
	require.EqualValues(t, 2000, m.videoBytes)
	require.EqualValues(t, 100, m.minVideoPktsSub)
	require.EqualValues(t, 200, m.maxVideoPktsSub)
	require.Equal(t, 1, m.hdSubs)

	_, err = diff(edgeServer(), a, probe{at: t0, metrics: scrape{}, subs: b.subs}, 100)
	require.ErrorIs(t, err, errMetricMissing)
	short := b
	short.subs = b.subs[:1]
	_, err = diff(edgeServer(), a, short, 100)
	require.Error(t, err)
}

func TestParseOptions(t *testing.T) {
	var errOut bytes.Buffer
	o, err := parseOptions([]string{"--subs", "100", "--duration", "45s", "--edge-bin", "/x/edge", "--keep-node-output"}, &errOut)
	require.NoError(t, err)
	require.Equal(t, 100, o.subs)
	require.Equal(t, 45*time.Second, o.duration)
	require.Equal(t, "/x/edge", o.edgeBin)
	require.True(t, o.keepOutput)
	require.Equal(t, 60*time.Second, o.warmup)

	for _, args := range [][]string{{"--subs", "0"}, {"--duration", "10ms"}, {"extra"}, {"--join-parallel", "0"}, {"--nope"}} {
		_, err := parseOptions(args, &errOut)
		require.Error(t, err, args)
	}
}

func TestBatchingText(t *testing.T) {
	m := measurement{duration: 10 * time.Second, nodePktsOut: 1000}
	require.Equal(t, "none (off, or no bursts)", batchingText(m))
	m.udpHeld, m.udpHeldSends, m.udpGSOSends = 800, 200, 150
	require.Equal(t, "80.0% of forwarded packets held, 4.00 datagrams per send, 15 GSO sends/s", batchingText(m))
}
