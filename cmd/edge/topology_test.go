package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
	"github.com/edgemesh/edge/topology"
)

// fixtureDocument is a small two-region mesh with one relayed track.
func fixtureDocument() topology.Document {
	return topology.Document{
		Node:      "eu-1",
		Generated: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		Mode:      topology.ModeRegional,
		Nodes: []topology.Node{
			{ID: "eu-1", Region: "eu", State: topology.StateActive, Liveness: topology.Alive, Participants: 2, Tracks: 1, CPU: 12.5, UptimeSeconds: 3600},
			{ID: "eu-2", Region: "eu", State: topology.StateDraining, Liveness: topology.Alive, Participants: 1},
			{ID: "us-1", Region: "us", State: topology.StateActive, Liveness: topology.Alive, Participants: 1, UptimeSeconds: 60},
		},
		Links: []topology.Link{{From: "eu-1", To: "us-1", RTTMillis: 81.5, LossPercent: 0.25, BytesPerSecFrom: 250000, BytesPerSecTo: 1000}},
		Rooms: []topology.Room{{Name: "demo", Participants: map[string]int{"eu-1": 2, "eu-2": 1, "us-1": 1}}},
		Tracks: []topology.TrackRoute{{Track: "TR_cam", Room: "demo", Kind: "video", Publisher: "alice", PublisherNode: "eu-1",
			Edges: []topology.Edge{{From: "eu-1", To: "eu-2"}, {From: "eu-1", To: "us-1"}}}},
	}
}

// topoServer is an edge stand-in on 127.0.0.1 serving a fixed topology document to requests
// signed with its key pair and granted roomList and roomAdmin.
type topoServer struct {
	url      string
	requests atomic.Int32
	failing  atomic.Bool // answer 500 while set
	// onRequest, if set, runs with the request count before each answer.
	onRequest func(n int)
}

func newTopoServer(t *testing.T, key, secret string, body []byte) *topoServer {
	t.Helper()
	s := &topoServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.requests.Add(1))
		if s.onRequest != nil {
			s.onRequest(n)
		}
		if r.URL.Path != "/admin/topology" || r.Method != http.MethodGet {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if err := checkAdminToken(r, key, secret); err != nil {
			http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
			return
		}
		if s.failing.Load() {
			http.Error(w, "node closed", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	require.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)
	s.url = srv.URL
	return s
}

// checkAdminToken verifies the bearer token of r like an edge's admin API does, and that it is
// short-lived.
func checkAdminToken(r *http.Request, key, secret string) error {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return fmt.Errorf("no bearer token")
	}
	v, err := auth.ParseAPIToken(raw)
	if err != nil {
		return err
	}
	if v.APIKey() != key {
		return fmt.Errorf("unknown key %q", v.APIKey())
	}
	claims, grants, err := v.Verify(secret)
	if err != nil {
		return err
	}
	if grants.Video == nil || !grants.Video.RoomList || !grants.Video.RoomAdmin {
		return fmt.Errorf("roomList and roomAdmin needed")
	}
	if claims.ExpiresAt == nil || time.Until(claims.ExpiresAt.Time) > 10*time.Minute {
		return fmt.Errorf("token is not short-lived")
	}
	return nil
}

// fixtureBody is the fixture as an edge would send it, with a field this CLI does not know
// (newer edges may add fields) and compact formatting (so --json provably passes it through).
func fixtureBody(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(fixtureDocument())
	require.NoError(t, err)
	return append([]byte(`{"from_the_future":true,`), b[1:]...)
}

func rendered(t *testing.T, render func(*bytes.Buffer, topology.Document) error) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, render(&b, fixtureDocument()))
	return b.String()
}

const testSecret = "a-test-secret-that-is-long-enough-1234"

func TestTopologyFormats(t *testing.T) {
	srv := newTopoServer(t, "opskey", testSecret, fixtureBody(t))
	creds := []string{"topology", "--url", srv.url, "--api-key", "opskey", "--api-secret", testSecret}

	code, out, errOut := runEdge(t, nil, creds...)
	require.Equal(t, 0, code, errOut)
	require.Empty(t, errOut)
	require.Equal(t, rendered(t, func(b *bytes.Buffer, d topology.Document) error { return topology.RenderTables(b, d) }), out)
	require.Contains(t, out, "    └── us-1 [us]\n")

	code, out, errOut = runEdge(t, nil, append(creds, "--dot")...)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, rendered(t, func(b *bytes.Buffer, d topology.Document) error { return topology.RenderDOT(b, d) }), out)
	require.Contains(t, out, `subgraph "cluster_us"`)

	code, out, errOut = runEdge(t, nil, append(creds, "--json")...)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, string(fixtureBody(t))+"\n", out, "--json prints the document as received")
	require.EqualValues(t, 3, srv.requests.Load())
}

func TestTopologyKeySources(t *testing.T) {
	body := fixtureBody(t)
	dev := newTopoServer(t, node.DevAPIKey, node.DevAPISecret, body)
	code, out, errOut := runEdge(t, nil, "topology", "--dev", "--url", dev.url)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "mesh seen from eu-1")

	// A ws:// signal URL, or a bare host:port, works as --url.
	code, _, errOut = runEdge(t, nil, "topology", "--dev", "--url", strings.Replace(dev.url, "http://", "ws://", 1))
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runEdge(t, nil, "topology", "--dev", "--url", strings.TrimPrefix(dev.url, "http://")+"/")
	require.Equal(t, 0, code, errOut)

	keyed := newTopoServer(t, "zeta", testSecret+"z", body)
	keys := "alpha:" + testSecret + "a,zeta:" + testSecret + "z"
	code, _, errOut = runEdge(t, nil, "topology", "--url", keyed.url, "--keys", keys, "--api-key", "zeta")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runEdge(t, map[string]string{"EDGE_KEYS": "zeta:" + testSecret + "z"}, "topology", "--url", keyed.url)
	require.Equal(t, 0, code, errOut)
	path := writeFile(t, "edge.yaml", "keys:\n  zeta: "+testSecret+"z\n")
	code, _, errOut = runEdge(t, nil, "topology", "--url", keyed.url, "--config", path)
	require.Equal(t, 0, code, errOut)

	// The first key in sorted order (alpha) is not the server's.
	code, out, errOut = runEdge(t, nil, "topology", "--url", keyed.url, "--keys", keys)
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "401 Unauthorized: unauthorized: unknown key \"alpha\"")
}

func TestTopologyErrors(t *testing.T) {
	srv := newTopoServer(t, "k", testSecret, fixtureBody(t))
	bad := newTopoServer(t, "k", testSecret, []byte(`{"nodes": "not a list"}`))
	creds := []string{"--api-key", "k", "--api-secret", testSecret}
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"json and dot", []string{"--dev", "--json", "--dot"}, 2, "--json and --dot exclude each other"},
		{"count without watch", []string{"--dev", "--count", "2"}, 2, "--count needs --watch"},
		{"zero interval", []string{"--dev", "--watch", "--interval", "0s"}, 2, "--interval must be positive"},
		{"negative count", []string{"--dev", "--watch", "--count", "-1"}, 2, "--count must not be negative"},
		{"secret without key", []string{"--api-secret", "s"}, 2, "--api-secret needs --api-key"},
		{"bad scheme", []string{"--dev", "--url", "ftp://127.0.0.1:1"}, 2, `scheme "ftp"`},
		{"no host", []string{"--dev", "--url", "http://"}, 2, "has no host"},
		{"extra argument", []string{"--dev", "now"}, 2, `unexpected argument "now"`},
		{"no keys", []string{"--url", srv.url}, 1, "no API keys configured"},
		{"unknown key", []string{"--dev", "--api-key", "nope", "--url", srv.url}, 1, `API key "nope" is not configured`},
		{"wrong secret", []string{"--url", srv.url, "--api-key", "k", "--api-secret", "wrong"}, 1, "401 Unauthorized"},
		{"wrong path", append([]string{"--url", srv.url + "/admin/topology"}, creds...), 1, "404 Not Found"},
		{"bad document", append([]string{"--url", bad.url}, creds...), 1, "decode topology document"},
		{"nobody listening", append([]string{"--url", "http://127.0.0.1:1", "--timeout", "2s"}, creds...), 1, "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEdge(t, nil, append([]string{"topology"}, tt.args...)...)
			require.Equal(t, tt.code, code, errOut)
			require.Empty(t, out)
			require.Contains(t, errOut, tt.msg)
		})
	}
}

func TestTopologyWatchCount(t *testing.T) {
	srv := newTopoServer(t, node.DevAPIKey, node.DevAPISecret, fixtureBody(t))
	// The second refresh fails; the watch shows it and goes on.
	srv.onRequest = func(n int) { srv.failing.Store(n == 2) }
	code, out, errOut := runEdge(t, nil, "topology", "--dev", "--url", srv.url, "--watch", "--interval", "10ms", "--count", "3")
	require.Equal(t, 0, code, errOut)
	require.EqualValues(t, 3, srv.requests.Load())
	frames := strings.Split(out, clearScreen)
	require.Len(t, frames, 4, "one clear-and-home per refresh")
	require.Empty(t, frames[0])
	for i, f := range frames[1:] {
		require.Contains(t, f, fmt.Sprintf("(refresh %d,", i+1))
	}
	require.Contains(t, frames[1], "mesh seen from eu-1")
	require.Contains(t, frames[2], "error: GET "+srv.url+"/admin/topology: 503 Service Unavailable: node closed")
	require.NotContains(t, frames[2], "mesh seen from")
	require.Contains(t, frames[3], "mesh seen from eu-1")

	// When the last refresh fails, so does the command.
	srv.onRequest = func(int) { srv.failing.Store(true) }
	code, _, errOut = runEdge(t, nil, "topology", "--dev", "--url", srv.url, "--watch", "--interval", "10ms", "--count", "1", "--json")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "503 Service Unavailable")
}

func TestTopologyWatchUntilInterrupted(t *testing.T) {
	srv := newTopoServer(t, node.DevAPIKey, node.DevAPISecret, fixtureBody(t))
	ctx, interrupt := context.WithCancel(context.Background())
	t.Cleanup(interrupt)
	srv.onRequest = func(n int) {
		if n == 4 {
			interrupt() // SIGINT while the fourth request is in flight
		}
	}
	var stdout, stderr bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
		stopContext: func(context.Context) (context.Context, context.CancelFunc) {
			return context.WithCancel(ctx)
		}}
	done := make(chan int, 1)
	go func() {
		done <- a.run([]string{"topology", "--dev", "--url", srv.url, "--watch", "--interval", "5ms", "--dot"})
	}()
	select {
	case code := <-done:
		require.Equal(t, 0, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("--watch did not stop when interrupted")
	}
	require.Empty(t, stderr.String())
	require.Equal(t, 3, strings.Count(stdout.String(), clearScreen), "the interrupted refresh is not drawn")
	require.Equal(t, 3, strings.Count(stdout.String(), "graph mesh {"))
}

func TestTopologyEndpoint(t *testing.T) {
	cfg := node.DefaultConfig()
	tests := []struct {
		url, bind string
		port      int
		want      string
	}{
		{"", "0.0.0.0", 7880, "http://127.0.0.1:7880/admin/topology"},
		{"", "10.1.2.3", 9000, "http://10.1.2.3:9000/admin/topology"},
		{"", "::1", 0, "http://[::1]:7880/admin/topology"},
		{"https://edge.example.com", "", 0, "https://edge.example.com/admin/topology"},
		{"wss://edge.example.com/mesh/?x=1#f", "", 0, "https://edge.example.com/mesh/admin/topology"},
		{"WS://127.0.0.1:7880", "", 0, "http://127.0.0.1:7880/admin/topology"},
		{"edge.example.com:7880", "", 0, "http://edge.example.com:7880/admin/topology"},
	}
	for _, tt := range tests {
		cfg.Bind, cfg.Port = tt.bind, tt.port
		got, err := topologyEndpoint(tt.url, &cfg)
		require.NoError(t, err, tt.url)
		require.Equal(t, tt.want, got, tt.url)
	}
}

func TestTopologyHelp(t *testing.T) {
	code, out, errOut := runEdge(t, nil, "topology", "-h")
	require.Equal(t, 0, code)
	require.Empty(t, out)
	for _, flag := range []string{"-url", "-api-key", "-api-secret", "-json", "-dot", "-watch", "-interval", "-count", "-dev", "-keys", "-config"} {
		require.Contains(t, errOut, flag)
	}
	code, out, _ = runEdge(t, nil, "help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "edge topology [flags]")
}
