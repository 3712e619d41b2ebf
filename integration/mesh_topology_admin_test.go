package integration

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/livekit/protocol/auth"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/topology"
)

// TestAdminTopology: GET /admin/topology on any edge shows every node, the live relay links
// with a round trip, the room's participants per edge and each relayed track's tree.
func TestAdminTopology(t *testing.T) {
	nodes := startMesh(t, 3)
	a := joinRoom(t, nodes[0], "topo", "alice")
	b := joinRoom(t, nodes[1], "topo", "bob")
	c := joinRoom(t, nodes[2], "topo", "carol")
	mic := publishMic(t, a)
	waitPackets(t, b.subscribed(t, mic.pub.SID()), 30, "bob receives alice's microphone")
	waitPackets(t, c.subscribed(t, mic.pub.SID()), 30, "carol receives alice's microphone")

	tok := mintToken(t, tokenSpec{identity: "ops", grant: &auth.VideoGrant{RoomList: true}})
	fetch := func(url string) topology.Document {
		req, err := http.NewRequest(http.MethodGet, url+"/admin/topology", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		var doc topology.Document
		require.NoError(t, json.NewDecoder(res.Body).Decode(&doc))
		return doc
	}
	for _, n := range nodes {
		var doc topology.Document
		waitFor(t, func() bool {
			doc = fetch(n.HTTPURL())
			if len(doc.Tracks) != 1 || len(doc.Tracks[0].Edges) != 2 || len(doc.Rooms) != 1 ||
				doc.Rooms[0].Total() != 3 {
				return false
			}
			rtt := 0
			for _, l := range doc.Links {
				if l.From == "edge-0" && l.RTTMillis > 0 {
					rtt++
				}
			}
			return rtt >= 2
		}, func() string { return sprintf("%s: document %+v", n.ID(), doc) })
		require.Len(t, doc.Nodes, 3)
		for _, nd := range doc.Nodes {
			require.Equal(t, topology.Alive, nd.Liveness, nd.ID)
		}
		require.Len(t, doc.Rooms, 1)
		require.Equal(t, map[string]int{"edge-0": 1, "edge-1": 1, "edge-2": 1}, doc.Rooms[0].Participants)
		tr := doc.Tracks[0]
		require.Equal(t, mic.pub.SID(), tr.Track)
		require.Equal(t, "edge-0", tr.PublisherNode)
		require.ElementsMatch(t, []topology.Edge{{From: "edge-0", To: "edge-1"}, {From: "edge-0", To: "edge-2"}}, tr.Edges)
	}
}
