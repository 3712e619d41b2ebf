package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const sampleMetrics = `# HELP edge_packets_total RTP packets received from publishers (in) and sent to subscribers (out).
# TYPE edge_packets_total counter
edge_packets_total{direction="in",node="ND_a"} 1234
edge_packets_total{direction="out",node="ND_a"} 5.5e+06
edge_bytes_total{direction="out",node="ND_a"} 7.2e+09
edge_subscribed_tracks{node="ND_a"} 100
edge_odd{node="a \"quoted\" \\ name\nx",direction="out"} 3 1700000000000
process_resident_memory_bytes 1.2345e+07
`

func TestParseMetrics(t *testing.T) {
	sc, err := parseMetrics(strings.NewReader(sampleMetrics))
	require.NoError(t, err)
	require.Len(t, sc, 6)

	tests := []struct {
		name  string
		match map[string]string
		want  float64
		ok    bool
	}{
		{"edge_packets_total", map[string]string{"direction": "out"}, 5.5e6, true},
		{"edge_packets_total", map[string]string{"direction": "in"}, 1234, true},
		{"edge_packets_total", nil, 5.5e6 + 1234, true},
		{"edge_packets_total", map[string]string{"direction": "sideways"}, 0, false},
		{"edge_subscribed_tracks", nil, 100, true},
		{"process_resident_memory_bytes", nil, 1.2345e7, true},
		{"edge_odd", map[string]string{"node": "a \"quoted\" \\ name\nx"}, 3, true},
		{"absent", nil, 0, false},
	}
	for _, tt := range tests {
		got, ok := sc.sum(tt.name, tt.match)
		require.Equal(t, tt.ok, ok, "%s %v", tt.name, tt.match)
		require.Equal(t, tt.want, got, "%s %v", tt.name, tt.match)
	}
	_, err = sc.must("absent", nil)
	require.ErrorIs(t, err, errMetricMissing)
}

func TestParseMetricsErrors(t *testing.T) {
	for _, in := range []string{
		"novalue",
		`m{a="b" 1`,
		`m{a=b} 1`,
		`m{a="b"} x`,
		`m 1 2 3`,
	} {
		_, err := parseMetrics(strings.NewReader(in))
		require.Error(t, err, in)
	}
}
