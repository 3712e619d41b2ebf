package integration

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func seqRecs(seqs ...uint16) []rtpRecord {
	out := make([]rtpRecord, len(seqs))
	for i, s := range seqs {
		out[i].seq = s
	}
	return out
}

func TestSeqWindowLoss(t *testing.T) {
	// The window is arrivals 3..6: 65534 (a late retransmission of a packet from before the
	// window: not part of it), 2, 3, 5. 4 arrives after the window: repaired, not lost.
	recs := seqRecs(65533, 0, 1, 65534, 2, 3, 5, 4, 7, 8)
	missing, expected := seqWindowLoss(recs, 3, 7)
	require.Equal(t, 4, expected, "sequence numbers 2..5")
	require.Equal(t, 0, missing)

	// Across the wrap: the window is 65535..2 and 0 never arrives.
	recs = seqRecs(65534, 65535, 1, 2)
	missing, expected = seqWindowLoss(recs, 1, 4)
	require.Equal(t, 4, expected)
	require.Equal(t, 1, missing)

	// An empty window.
	missing, expected = seqWindowLoss(recs, 2, 2)
	require.Zero(t, missing+expected)
}
