package node

import (
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/topology"
)

func TestLinkDownExpires(t *testing.T) {
	m := &mesh{n: &Node{cfg: Config{NodeID: "edge-2"}}, log: zerolog.Nop(), linkDown: map[string]time.Time{}}
	t0 := time.Unix(1000, 0)
	require.Empty(t, m.downLinks(t0))
	m.noteLink("edge-1", errors.New("handshake timeout"), t0)
	require.Equal(t, []topology.Link{{From: "edge-2", To: "edge-1", LossPercent: 100}}, m.downLinks(t0.Add(time.Second)))
	require.Empty(t, m.downLinks(t0.Add(linkDownFor)), "tried again after linkDownFor")
	m.noteLink("edge-1", errors.New("handshake timeout"), t0)
	m.noteLink("edge-1", nil, t0.Add(time.Second))
	require.Empty(t, m.downLinks(t0.Add(2*time.Second)), "a link that came up is back in routes")
}
