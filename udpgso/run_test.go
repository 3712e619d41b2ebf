package udpgso

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func repeat(n, size int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = size
	}
	return s
}

func TestNextRun(t *testing.T) {
	tests := []struct {
		name     string
		lens     []int
		wantN    int
		wantSize int
	}{
		{"empty", nil, 0, 0},
		{"one", []int{1100}, 1, 1100},
		{"equal", []int{1100, 1100, 1100}, 3, 3300},
		{"shorter last ends the run", []int{1100, 1100, 900, 1100}, 3, 3100},
		{"longer second starts a new run", []int{900, 1100}, 1, 900},
		{"zero-length first is alone", []int{0, 0, 10}, 1, 0},
		{"zero-length later is not a segment", []int{10, 0}, 1, 10},
		{"segment cap", repeat(70, 100), maxSegments, maxSegments * 100},
		{"byte cap", repeat(64, 1400), maxBatchBytes / 1400, (maxBatchBytes / 1400) * 1400},
		{"shorter last within byte cap", append(repeat(46, 1400), 200), 47, 46*1400 + 200},
		{"shorter last beyond byte cap", append(repeat(46, 1400), 1000), 46, 46 * 1400},
		{"oversized alone", []int{maxBatchBytes + 1, 10}, 1, maxBatchBytes + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, size := nextRun(tt.lens)
			require.Equal(t, tt.wantN, n)
			require.Equal(t, tt.wantSize, size)
		})
	}
}
