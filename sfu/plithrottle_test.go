package sfu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPLIThrottle(t *testing.T) {
	t.Parallel()
	ms := int64(time.Millisecond)
	type req struct {
		layer int32
		at    int64 // ms
		want  bool
	}
	cases := []struct {
		name     string
		interval time.Duration
		reqs     []req
	}{
		{
			name:     "default interval per layer",
			interval: 0,
			reqs: []req{
				{0, 0, true},
				{0, 100, false},
				{1, 100, true}, // layers are independent
				{0, 499, false},
				{0, 500, true},
				{1, 550, false},
				{1, 600, true},
				{2, 600, true},
			},
		},
		{
			name:     "custom interval",
			interval: 50 * time.Millisecond,
			reqs:     []req{{2, 1000, true}, {2, 1049, false}, {2, 1050, true}},
		},
		{
			name:     "invalid layers never pass",
			interval: time.Millisecond,
			reqs:     []req{{-1, 0, false}, {3, 0, false}},
		},
		{
			name:     "first request at time zero",
			interval: time.Second,
			reqs:     []req{{0, 0, true}, {0, 0, false}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th := NewKeyframeThrottle(tc.interval)
			for i, r := range tc.reqs {
				require.Equal(t, r.want, th.Allow(r.layer, r.at*ms), "request %d", i)
			}
		})
	}
}
