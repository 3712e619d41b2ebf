package integration

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// scrape returns the value of the first sample of metric whose label set matches labels
// (a regexp fragment), or -1.
func scrape(t *testing.T, url, metric, labels string) float64 {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(metric) + `\{[^}]*` + labels + `[^}]*\} (\S+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	return v
}

// TestMetrics: /metrics reports rooms, participants, tracks and media counters that move with
// the traffic.
func TestMetrics(t *testing.T) {
	n := startNode(t)
	a := joinRoom(t, n, "metrics", "alice")
	b := joinRoom(t, n, "metrics", "bob")
	cam := publishCamera(t, a)
	rec := b.subscribed(t, cam.pub.SID())
	waitPackets(t, rec, 50, "bob receives alice's camera")

	url := n.HTTPURL()
	require.Equal(t, 1.0, scrape(t, url, "edge_rooms", ""))
	require.Equal(t, 2.0, scrape(t, url, "edge_participants", ""))
	require.Equal(t, 1.0, scrape(t, url, "edge_published_tracks", ""))
	require.Equal(t, 1.0, scrape(t, url, "edge_subscribed_tracks", ""))
	in := scrape(t, url, "edge_packets_total", `direction="in"`)
	out := scrape(t, url, "edge_packets_total", `direction="out"`)
	require.Greater(t, in, 50.0)
	require.Greater(t, out, 50.0)
	require.Greater(t, scrape(t, url, "edge_bytes_total", `direction="out"`), 0.0)
	require.GreaterOrEqual(t, scrape(t, url, "edge_nacks_total", ""), 0.0)
	require.GreaterOrEqual(t, scrape(t, url, "edge_plis_total", `direction="out"`), 0.0)

	waitFor(t, func() bool { return scrape(t, url, "edge_packets_total", `direction="out"`) > out },
		func() string { return "forwarded packet counter does not move" })

	b.leave(t)
	waitFor(t, func() bool { return scrape(t, url, "edge_participants", "") == 1 },
		func() string { return "participant gauge did not drop after bob left" })
	waitFor(t, func() bool { return scrape(t, url, "edge_subscribed_tracks", "") == 0 },
		func() string { return "subscribed-track gauge did not drop after bob left" })
}
