package integration

import (
	"bytes"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/relay"
)

// Helpers of the multi-edge tests: clients whose participant events carry the time they
// arrived, a watcher of the dynacast layer updates the SDK applies, relay counters and latency
// statistics.

// probeLinger bounds how long memberlist's probe goroutine may outlive Shutdown: one probe
// interval scaled by its health awareness (at most 8 × 500 ms), which failed probes of a
// killed member raise.
const probeLinger = 5 * time.Second

// awaitProbes waits (bounded by probeLinger) until no memberlist probe is in flight. memberlist's
// Shutdown does not wait for a probe that has started; the probe ends on its own timer. Without
// this, the package's leak check may catch it when a mesh test runs last.
func awaitProbes() {
	buf := make([]byte, 1<<20)
	pollUntil(probeLinger, func() bool {
		n := runtime.Stack(buf, true)
		return !bytes.Contains(buf[:n], []byte("memberlist.(*Memberlist).probeNode("))
	})
}

// meshClient is a client that also records when each remote participant connected and
// disconnected (first time each), and which simulcast layers of its own tracks the node asked
// it to enable or pause (dynacast).
type meshClient struct {
	*client
	layers *layerWatch

	mu    sync.Mutex // guards joined and left
	since time.Time  // when the join started
	ready time.Time  // when the SDK's connect returned
	// joined and left hold, per remote identity, when OnParticipantConnected and
	// OnParticipantDisconnected first fired.
	joined map[string]time.Time
	left   map[string]time.Time
}

// meshJoin connects identity to room through the signaling URL url (ws://...) with
// auto-subscribe on or off; the client leaves when the test ends.
func meshJoin(t *testing.T, url, room, identity string, autoSubscribe bool) *meshClient {
	t.Helper()
	c, err := tryMeshJoin(t, url, room, identity, autoSubscribe)
	require.NoError(t, err, "join %s", identity)
	t.Cleanup(func() { c.leave(t) })
	return c
}

// tryMeshJoin is meshJoin without the cleanup; the caller makes the client leave.
func tryMeshJoin(t *testing.T, url, room, identity string, autoSubscribe bool) (*meshClient, error) {
	t.Helper()
	ev := newEvents()
	mc := &meshClient{layers: &layerWatch{}, joined: map[string]time.Time{}, left: map[string]time.Time{}}
	cb := ev.callbacks()
	onJoin, onLeave := cb.OnParticipantConnected, cb.OnParticipantDisconnected
	cb.OnParticipantConnected = func(rp *lksdk.RemoteParticipant) {
		mc.stamp(mc.joined, rp.Identity())
		onJoin(rp)
	}
	cb.OnParticipantDisconnected = func(rp *lksdk.RemoteParticipant) {
		mc.stamp(mc.left, rp.Identity())
		onLeave(rp)
	}
	tok := mintToken(t, tokenSpec{identity: identity, grant: fullGrant(room)})
	mc.since = time.Now()
	r, err := lksdk.ConnectToRoomWithToken(url, tok, cb,
		lksdk.WithAutoSubscribe(autoSubscribe),
		lksdk.WithLogger(watchingLogger{next: sdkLogger(), w: mc.layers}),
		lksdk.WithConnectTimeout(10*time.Second),
	)
	if err != nil {
		return nil, err
	}
	mc.mu.Lock()
	mc.ready = time.Now()
	mc.mu.Unlock()
	mc.client = &client{identity: identity, room: r, ev: ev}
	return mc, nil
}

func (c *meshClient) stamp(m map[string]time.Time, identity string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := m[identity]; !ok {
		m[identity] = now
	}
}

// joinedAt is when c learned that identity connected (ok false: not yet).
func (c *meshClient) joinedAt(identity string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.joined[identity]
	return at, ok
}

// leftAt is when c learned that identity disconnected (ok false: not yet).
func (c *meshClient) leftAt(identity string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.left[identity]
	return at, ok
}

// readyAt is when c's connect returned.
func (c *meshClient) readyAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

// sdkLayerEnableMsg is what server-sdk-go v2.19.0 logs (Infow, keys "quality" and "enabled")
// when it applies a SubscribedQualityUpdate to one simulcast layer of a published track.
const sdkLayerEnableMsg = "updating layer enable"

// layerChange is one dynacast layer update the SDK applied.
type layerChange struct {
	at      time.Time
	quality livekit.VideoQuality
	enabled bool
}

// layerWatch records the dynacast layer updates of a publisher's SDK.
//
// Concurrency: observe runs on SDK goroutines; every method takes mu and never blocks.
type layerWatch struct {
	mu      sync.Mutex // guards changes
	changes []layerChange
}

func (w *layerWatch) observe(msg string, kv []any) {
	if msg != sdkLayerEnableMsg {
		return
	}
	ch := layerChange{at: time.Now()}
	var haveQ, haveE bool
	for i := 0; i+1 < len(kv); i += 2 {
		switch kv[i] {
		case "quality":
			ch.quality, haveQ = kv[i+1].(livekit.VideoQuality)
		case "enabled":
			ch.enabled, haveE = kv[i+1].(bool)
		}
	}
	if haveQ && haveE {
		w.mu.Lock()
		w.changes = append(w.changes, ch)
		w.mu.Unlock()
	}
}

// state reports whether the last update of quality enabled it; known is false before any.
func (w *layerWatch) state(q livekit.VideoQuality) (enabled, known bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.changes) - 1; i >= 0; i-- {
		if w.changes[i].quality == q {
			return w.changes[i].enabled, true
		}
	}
	return false, false
}

// history returns a copy of every update so far.
func (w *layerWatch) history() []layerChange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.changes)
}

// watchingLogger passes everything to next and shows Infow lines to a layerWatch; loggers
// derived from it keep watching. It only compares the message and reads the key-value pairs
// of the one line it looks for, so it formats nothing.
type watchingLogger struct {
	next protologger.Logger
	w    *layerWatch
}

func (l watchingLogger) wrap(n protologger.Logger) protologger.Logger {
	return watchingLogger{next: n, w: l.w}
}

func (l watchingLogger) Debugw(msg string, kv ...any) { l.next.Debugw(msg, kv...) }

func (l watchingLogger) Infow(msg string, kv ...any) {
	l.w.observe(msg, kv)
	l.next.Infow(msg, kv...)
}

func (l watchingLogger) Warnw(msg string, err error, kv ...any)  { l.next.Warnw(msg, err, kv...) }
func (l watchingLogger) Errorw(msg string, err error, kv ...any) { l.next.Errorw(msg, err, kv...) }

func (l watchingLogger) WithValues(kv ...any) protologger.Logger {
	return l.wrap(l.next.WithValues(kv...))
}

func (l watchingLogger) WithUnlikelyValues(kv ...any) protologger.UnlikelyLogger {
	return protologger.NewUnlikelyLogger(l, kv...)
}

func (l watchingLogger) WithName(name string) protologger.Logger {
	return l.wrap(l.next.WithName(name))
}

func (l watchingLogger) WithComponent(c string) protologger.Logger {
	return l.wrap(l.next.WithComponent(c))
}

func (l watchingLogger) WithCallDepth(depth int) protologger.Logger {
	return l.wrap(l.next.WithCallDepth(depth))
}

func (l watchingLogger) WithItemSampler() protologger.Logger { return l.wrap(l.next.WithItemSampler()) }
func (l watchingLogger) WithoutSampler() protologger.Logger  { return l.wrap(l.next.WithoutSampler()) }

func (l watchingLogger) WithDeferredValues() (protologger.Logger, protologger.DeferredFieldResolver) {
	n, r := l.next.WithDeferredValues()
	return l.wrap(n), r
}

// relayStatser is what the relay checks read from a node.
type relayStatser interface {
	ID() string
	RelayPeerStats(peerID string) (relay.PeerStats, bool)
}

// relayPeer returns from's relay counters for its links with to (zero before any link).
func relayPeer(from, to relayStatser) relay.PeerStats {
	st, _ := from.RelayPeerStats(to.ID())
	return st
}

// trafficDelta is b - a, per kind and layer.
func trafficDelta(a, b relay.Traffic) relay.Traffic {
	d := relay.Traffic{Audio: b.Audio - a.Audio, Data: b.Data - a.Data}
	for i := range d.Video {
		d.Video[i] = b.Video[i] - a.Video[i]
	}
	return d
}

// percentile returns the p-th percentile (0 < p ≤ 100, nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s))+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// pollUntil polls cond every few milliseconds until it holds and returns when it first held,
// or false after timeout. It is for latency measurements, where waitFor's 20 ms tick is too
// coarse.
func pollUntil(timeout time.Duration, cond func() bool) (time.Time, bool) {
	const every = 2 * time.Millisecond
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return time.Now(), true
		}
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(every)
	}
}
