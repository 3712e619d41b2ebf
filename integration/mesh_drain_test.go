package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDrain: draining an edge moves its clients to other edges without dropping them: 10
// subscribers on the draining edge are told to reconnect elsewhere, rejoin another edge and
// receive the publisher's audio again; new joins on the draining edge are refused.
func TestDrain(t *testing.T) {
	nodes := startMesh(t, 3)
	const room = "drain"
	a := joinRoom(t, nodes[0], room, "alice")
	mic := publishMic(t, a)
	var subs []*client
	for i := range 10 {
		c := joinRoom(t, nodes[1], room, fmt.Sprintf("sub-%02d", i))
		waitPackets(t, c.subscribed(t, mic.pub.SID()), 10, c.identity+" receives alice before the drain")
		subs = append(subs, c)
	}
	before := map[*client]*trackRecorder{}
	for _, c := range subs {
		before[c] = c.ev.recorder(mic.pub.SID())
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, nodes[1].Drain(ctx))
	require.True(t, nodes[1].Draining())

	var slowest time.Duration
	for _, c := range subs {
		waitFor(t, func() bool {
			r := c.ev.recorder(mic.pub.SID())
			return r != nil && r != before[c] && r.count() > 5
		}, func() string { return c.identity + " did not get media again after the drain" })
		slowest = max(slowest, time.Since(start))
		node := c.room.ServerInfo().GetNodeId()
		require.True(t, slices.Contains([]string{"edge-0", "edge-2"}, node), "%s is on %s", c.identity, node)
	}
	t.Logf("drain: all 10 subscribers moved and received media again within %v", slowest)

	_, err := tryJoin(t, nodes[1], room, "late")
	require.Error(t, err, "a draining edge accepted a join")
}

// TestSettingsRegions: /settings/regions lists the live, non-draining edges nearest-first (the
// answering edge's region first for an unmapped caller), and a draining edge drops out.
func TestSettingsRegions(t *testing.T) {
	nodes := startMesh(t, 3)
	tok := mintToken(t, tokenSpec{identity: "x", grant: fullGrant("r")})
	regions := func(url string) []string {
		req, err := http.NewRequest(http.MethodGet, url+"/settings/regions", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		var rs struct {
			Regions []struct{ Region, URL string } `json:"regions"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&rs))
		var out []string
		for _, r := range rs.Regions {
			out = append(out, r.Region)
		}
		return out
	}
	waitFor(t, func() bool { return len(regions(nodes[2].HTTPURL())) == 3 },
		func() string { return sprintf("regions %v", regions(nodes[2].HTTPURL())) })
	got := regions(nodes[2].HTTPURL())
	require.Equal(t, "r2/edge-2", got[0], "the answering edge's region comes first for an unmapped caller")

	res, err := http.Get(nodes[2].HTTPURL() + "/settings/regions")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, nodes[1].Drain(ctx))
	waitFor(t, func() bool { return !slices.Contains(regions(nodes[0].HTTPURL()), "r1/edge-1") },
		func() string { return sprintf("draining edge still listed: %v", regions(nodes[0].HTTPURL())) })
}
