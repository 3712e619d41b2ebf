package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// startMesh starts count edge nodes on 127.0.0.1 with ephemeral ports, each joining the first
// one's gossip, in region "r<i>", and waits until every node sees all of them alive. When the
// test ends it also waits for memberlist probes still in flight after the shutdown (awaitProbes).
func startMesh(t *testing.T, count int) []*node.Node {
	t.Helper()
	return startMeshWith(t, count, nil)
}

// startMeshWith is startMesh with a hook that adjusts edge i's configuration.
func startMeshWith(t *testing.T, count int, configure func(i int, cfg *node.Config)) []*node.Node {
	t.Helper()
	t.Cleanup(awaitProbes) // registered first: runs after the nodes' shutdown
	nodes := make([]*node.Node, 0, count)
	for i := range count {
		lw := &testLogWriter{t: t}
		t.Cleanup(lw.close)
		cfg := node.DevConfig()
		cfg.NodeID = fmt.Sprintf("edge-%d", i)
		cfg.Region = fmt.Sprintf("r%d", i)
		cfg.Port, cfg.RTCTCPPort, cfg.RTCUDPPort, cfg.GossipPort, cfg.RelayPort = 0, 0, 0, 0, 0
		cfg.LogLevel = "warn"
		if v := os.Getenv(envNodeLog); v != "" {
			cfg.LogLevel = v
		}
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		if configure != nil {
			configure(i, &cfg)
		}
		level, err := zerolog.ParseLevel(cfg.LogLevel)
		require.NoError(t, err)
		logger := zerolog.New(zerolog.ConsoleWriter{Out: lw, NoColor: true, TimeFormat: "15:04:05"}).
			Level(level).With().Timestamp().Logger()
		n, err := node.New(cfg, logger)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, n.Start(ctx), "start %s", cfg.NodeID)
		cancel()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, n.Shutdown(ctx), "shutdown %s", cfg.NodeID)
		})
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		waitFor(t, func() bool { return n.AliveNodes() == count },
			func() string { return sprintf("%s sees %d alive nodes, want %d", n.ID(), n.AliveNodes(), count) })
	}
	return nodes
}

// TestMeshSmoke: a publisher on edge 0 and a subscriber on edge 1 of one room: the subscriber
// sees the publisher and receives its audio and video through the relay, and data crosses.
func TestMeshSmoke(t *testing.T) {
	nodes := startMesh(t, 2)
	a := joinRoom(t, nodes[0], "mesh", "alice")
	b := joinRoom(t, nodes[1], "mesh", "bob")
	waitFor(t, func() bool { return b.room.GetParticipantByIdentity("alice") != nil },
		func() string { return "bob never saw alice from the other edge" })
	mic := publishMic(t, a)
	cam := publishCamera(t, a)
	waitPackets(t, b.subscribed(t, mic.pub.SID()), 50, "bob receives alice's microphone across edges")
	waitPackets(t, b.subscribed(t, cam.pub.SID()), 50, "bob receives alice's camera across edges")
}

// TestMeshObservability: relay counters show up in /metrics on both edges, and /admin/nodes on
// either edge lists both with their metadata.
func TestMeshObservability(t *testing.T) {
	nodes := startMesh(t, 2)
	a := joinRoom(t, nodes[0], "obs", "alice")
	b := joinRoom(t, nodes[1], "obs", "bob")
	mic := publishMic(t, a)
	waitPackets(t, b.subscribed(t, mic.pub.SID()), 50, "bob receives alice's microphone across edges")

	waitFor(t, func() bool {
		return scrape(t, nodes[1].HTTPURL(), "edge_relay_received_bytes_total", `kind="audio"`) > 0
	}, func() string { return "edge 1 reports no relayed audio bytes" })
	require.Greater(t, scrape(t, nodes[0].HTTPURL(), "edge_relay_sent_bytes_total", `kind="audio"`), 0.0)
	require.Equal(t, 1.0, scrape(t, nodes[1].HTTPURL(), "edge_relay_subscriptions", `peer="edge-0"`))
	require.Equal(t, 2.0, scrape(t, nodes[0].HTTPURL(), "edge_gossip_members", `liveness="alive"`))

	tok := mintToken(t, tokenSpec{identity: "ops", grant: &auth.VideoGrant{RoomList: true}})
	for _, n := range nodes {
		req, err := http.NewRequest(http.MethodGet, n.HTTPURL()+"/admin/nodes", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var doc struct {
			Nodes []struct {
				ID        string `json:"id"`
				Liveness  string `json:"liveness"`
				SignalURL string `json:"signal_url"`
			} `json:"nodes"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&doc))
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Len(t, doc.Nodes, 2)
		for _, nd := range doc.Nodes {
			require.Equal(t, "alive", nd.Liveness, nd.ID)
			require.NotEmpty(t, nd.SignalURL, nd.ID)
		}
	}
	res, err := http.Get(nodes[0].HTTPURL() + "/admin/nodes")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

// TestMeshDuplicateIdentity: the same identity joining on a second edge replaces the first
// session, as on one node; others see one alice.
func TestMeshDuplicateIdentity(t *testing.T) {
	nodes := startMesh(t, 2)
	old := joinRoom(t, nodes[0], "dup", "alice")
	b := joinRoom(t, nodes[0], "dup", "bob")
	waitFor(t, func() bool { return b.room.GetParticipantByIdentity("alice") != nil },
		func() string { return "bob does not see alice" })
	time.Sleep(5 * time.Millisecond) // a later join time
	joinRoom(t, nodes[1], "dup", "alice")
	waitFor(t, func() bool { return old.ev.get(&old.ev.selfDisconnected) > 0 },
		func() string { return "the first alice session was not disconnected" })
	require.Equal(t, livekit.DisconnectReason_DUPLICATE_IDENTITY, old.room.DisconnectReason())
	waitFor(t, func() bool {
		p := b.room.GetParticipantByIdentity("alice")
		return p != nil && p.SID() != old.room.LocalParticipant.SID()
	}, func() string { return "bob does not see the new alice" })
}
