package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

const (
	devKey    = node.DevAPIKey
	devSecret = node.DevAPISecret

	// waitTimeout bounds every wait for a condition; polling returns as soon as it holds.
	waitTimeout = 20 * time.Second
	pollEvery   = 20 * time.Millisecond
	// quietPeriod is how long a "must not happen" condition is watched.
	quietPeriod = 1500 * time.Millisecond

	// Environment switches for debugging a failing run.
	envNodeLog = "EDGE_TEST_NODE_LOG" // zerolog level of the node's log (default: warn)
	envSDKLog  = "EDGE_TEST_SDK_LOG"  // zap level of the SDK's log to stderr (default: silent)
)

// testLogWriter forwards node log lines to t.Log until closed, so that lines written after the
// test ended (which t.Log would panic on) are dropped instead.
type testLogWriter struct {
	mu     sync.Mutex // guards t and closed
	t      testing.TB
	closed bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testLogWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// startNode starts an edge node on 127.0.0.1 with ephemeral ports and shuts it down (checking
// that the shutdown succeeds) when the test ends, after every client of the test has left.
func startNode(t *testing.T) *node.Node {
	t.Helper()
	return startNodeWith(t, nil)
}

// startNodeWith is startNode with the dev config changed by tweak (if not nil).
func startNodeWith(t *testing.T, tweak func(*node.Config)) *node.Node {
	t.Helper()
	lw := &testLogWriter{t: t}
	t.Cleanup(lw.close) // registered first: runs after the node's shutdown
	cfg := node.DevConfig()
	cfg.Port, cfg.RTCTCPPort, cfg.RTCUDPPort, cfg.GossipPort, cfg.RelayPort = 0, 0, 0, 0, 0
	cfg.LogLevel = "warn"
	if v := os.Getenv(envNodeLog); v != "" {
		cfg.LogLevel = v
	}
	if tweak != nil {
		tweak(&cfg)
	}
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	require.NoError(t, err, envNodeLog)
	logger := zerolog.New(zerolog.ConsoleWriter{Out: lw, NoColor: true, TimeFormat: "15:04:05"}).
		Level(level).With().Timestamp().Logger()

	n, err := node.New(cfg, logger)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, n.Shutdown(ctx), "node shutdown")
	})
	return n
}

// fullGrant is the grant of an ordinary participant of room.
func fullGrant(room string) *auth.VideoGrant {
	return &auth.VideoGrant{
		RoomJoin:             true,
		Room:                 room,
		CanPublish:           new(true),
		CanSubscribe:         new(true),
		CanPublishData:       new(true),
		CanUpdateOwnMetadata: new(true),
	}
}

// tokenSpec describes an access token to mint.
type tokenSpec struct {
	key, secret string // default devkey/secret
	identity    string
	name        string
	grant       *auth.VideoGrant
}

// mintToken signs a LiveKit access token.
func mintToken(t *testing.T, s tokenSpec) string {
	t.Helper()
	if s.key == "" {
		s.key, s.secret = devKey, devSecret
	}
	at := auth.NewAccessToken(s.key, s.secret).SetIdentity(s.identity).SetName(s.name).
		SetValidFor(time.Hour)
	if s.grant != nil {
		at.SetVideoGrant(s.grant)
	}
	tok, err := at.ToJWT()
	require.NoError(t, err)
	return tok
}

// sdkLogger is the logger handed to the SDK: a level-filtering zap logger, silent unless
// envSDKLog names a level. It must filter by level before formatting: pion formats some debug
// arguments (e.g. a TrackRemote with %+v) that another goroutine is still writing, which the
// race detector reports when a logger formats every debug line it is handed.
func sdkLogger() protologger.Logger {
	level := "fatal"
	if v := os.Getenv(envSDKLog); v != "" {
		level = v
	}
	l, err := protologger.NewZapLogger(&protologger.Config{Level: level})
	if err != nil {
		panic(err) // only on a malformed config literal above
	}
	return l
}

// joinConfig is what joinRoom varies.
type joinConfig struct {
	grant    *auth.VideoGrant
	name     string
	token    string // used as is when tokenSet (even if empty: no token at all)
	tokenSet bool
	sdkOpts  []lksdk.ConnectOption
}

type joinOption func(*joinConfig)

func withGrant(mutate func(*auth.VideoGrant)) joinOption {
	return func(c *joinConfig) { mutate(c.grant) }
}

func withName(name string) joinOption { return func(c *joinConfig) { c.name = name } }

func withToken(tok string) joinOption {
	return func(c *joinConfig) { c.token, c.tokenSet = tok, true }
}

// withSDKOptions adds SDK connect options.
func withSDKOptions(opts ...lksdk.ConnectOption) joinOption {
	return func(c *joinConfig) { c.sdkOpts = append(c.sdkOpts, opts...) }
}

// client is one SDK participant plus everything its callbacks reported.
type client struct {
	identity string
	room     *lksdk.Room
	ev       *events
}

// tryJoin connects identity to room on n through the SDK. The caller owns the result.
func tryJoin(t *testing.T, n *node.Node, room, identity string, opts ...joinOption) (*client, error) {
	t.Helper()
	cfg := joinConfig{grant: fullGrant(room)}
	for _, o := range opts {
		o(&cfg)
	}
	tok := cfg.token
	if !cfg.tokenSet {
		tok = mintToken(t, tokenSpec{identity: identity, name: cfg.name, grant: cfg.grant})
	}
	ev := newEvents()
	sdkOpts := append([]lksdk.ConnectOption{
		lksdk.WithAutoSubscribe(true),
		lksdk.WithLogger(sdkLogger()),
		lksdk.WithConnectTimeout(10 * time.Second),
	}, cfg.sdkOpts...)
	r, err := lksdk.ConnectToRoomWithToken(n.URL(), tok, ev.callbacks(), sdkOpts...)
	if err != nil {
		return nil, err
	}
	return &client{identity: identity, room: r, ev: ev}, nil
}

// joinRoom is tryJoin that must succeed; the client leaves when the test ends.
func joinRoom(t *testing.T, n *node.Node, room, identity string, opts ...joinOption) *client {
	t.Helper()
	c, err := tryJoin(t, n, room, identity, opts...)
	require.NoError(t, err, "join %s", identity)
	t.Cleanup(func() { c.leave(t) })
	return c
}

// leave disconnects the client (idempotent) and waits for its track readers to stop.
func (c *client) leave(t *testing.T) {
	t.Helper()
	c.room.Disconnect()
	for _, r := range c.ev.recorders() {
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: reader of track %s did not stop after disconnect", c.identity, r.sid)
		}
	}
}

// remote returns the remote participant with identity once c knows it.
func (c *client) remote(t *testing.T, identity string) *lksdk.RemoteParticipant {
	t.Helper()
	var rp *lksdk.RemoteParticipant
	require.Eventually(t, func() bool {
		rp = c.room.GetParticipantByIdentity(identity)
		return rp != nil
	}, waitTimeout, pollEvery, "%s never saw participant %s", c.identity, identity)
	return rp
}

// subscribed waits until c receives RTP of track sid and returns its recorder.
func (c *client) subscribed(t *testing.T, sid string) *trackRecorder {
	t.Helper()
	var r *trackRecorder
	require.Eventually(t, func() bool {
		r = c.ev.recorder(sid)
		return r != nil && r.count() > 0
	}, waitTimeout, pollEvery, "%s received no RTP for track %s", c.identity, sid)
	return r
}

// waitPackets waits until r has received more than n packets in total.
func waitPackets(t *testing.T, r *trackRecorder, n int64, msg string) {
	t.Helper()
	waitFor(t, func() bool { return r.count() > n }, func() string {
		return sprintf("%s: stuck at %d packets (want > %d)", msg, r.count(), n)
	})
}

// waitFor polls cond until it holds, failing the test after waitTimeout with the message
// describe returns at that moment (so it can report the state that was reached).
func waitFor(t *testing.T, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %s", waitTimeout, describe())
		}
		<-tick.C
	}
}

// never fails the test if cond becomes true within quietPeriod.
func never(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	require.Never(t, cond, quietPeriod, pollEvery, fmt.Sprintf(format, args...))
}
