package gossip

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// fakeMesh wires Directories together without memberlist: deliver hands every queued broadcast
// to every other directory, exchange runs a push/pull.
type fakeMesh struct {
	t     testing.TB
	now   time.Time
	dirs  map[string]*Directory
	order []string
	syncs []string // "from=>to" full exchanges requested, "from->to:kind" stream messages sent
}

func newFakeMesh(t testing.TB, ids ...string) *fakeMesh {
	m := &fakeMesh{t: t, now: time.Unix(1_700_000_000, 0), dirs: make(map[string]*Directory)}
	for i, id := range ids {
		m.add(id, uint64(i+1))
	}
	return m
}

func (m *fakeMesh) add(id string, epoch uint64) *Directory {
	var dropped atomic.Uint64
	q := newEventQueue(1<<16, Event{Kind: Resync}, &dropped)
	q.subscribe(func(Event) {}) // queue events; tests drain q.pending directly
	d := newDirectory(dirConfig{
		self: id, epoch: epoch, log: zerolog.Nop(), maxBroadcast: 1300, retransmitMult: 4,
		numNodes:     func() int { return len(m.dirs) },
		tombstoneTTL: time.Minute, orphanGrace: 5 * time.Second, syncGrace: time.Second,
		now:         func() time.Time { return m.now },
		requestSync: func(peer string) { m.syncs = append(m.syncs, id+"=>"+peer) },
		sendTo: func(to, _ string, msg []byte) {
			kind := "answer"
			if msgType(msg[1]) == msgPull {
				kind = "pull"
			}
			m.syncs = append(m.syncs, id+"->"+to+":"+kind)
			m.dirs[to].handleMessage(msg)
		},
	}, &counters{}, q)
	m.dirs[id] = d
	m.order = append(m.order, id)
	return d
}

// deliver runs gossip rounds until no broadcast is queued; drop decides per (from, to) whether
// a message is lost.
func (m *fakeMesh) deliver(drop func(from, to string) bool) {
	for round := 0; round < 50; round++ {
		moved := false
		for _, from := range m.order {
			msgs := m.dirs[from].getBroadcasts(0, 1<<20)
			for _, msg := range msgs {
				moved = true
				for _, to := range m.order {
					if to != from && (drop == nil || !drop(from, to)) {
						m.dirs[to].handleMessage(msg)
					}
				}
			}
		}
		if !moved {
			return
		}
	}
	m.t.Fatal("broadcasts did not settle")
}

// exchange is a push/pull between a and b (full = join exchange).
func (m *fakeMesh) exchange(a, b string, full bool) {
	sa, sb := m.dirs[a].localState(full), m.dirs[b].localState(full)
	m.dirs[b].mergeState(sa, full)
	m.dirs[a].mergeState(sb, full)
}

func drain(d *Directory) []Event {
	d.events.mu.Lock()
	defer d.events.mu.Unlock()
	out := slices.Clone(d.events.pending)
	d.events.pending = d.events.pending[:0]
	return out
}

// view renders what a directory holds, for comparing nodes.
func view(d *Directory) []string {
	var out []string
	for _, r := range d.Rooms() {
		out = append(out, fmt.Sprintf("room %s sid=%s md=%q nodes=%v n=%d", r.Room.Name, r.Room.Sid,
			r.Room.Metadata, r.Nodes, r.Room.NumParticipants))
		for _, p := range d.Participants(r.Room.Name) {
			out = append(out, fmt.Sprintf("  %s@%s md=%q tracks=%d", p.Info.Identity, p.NodeID, p.Info.Metadata, len(p.Info.Tracks)))
		}
	}
	return out
}

func TestDirectoryPropagatesAndEmitsEvents(t *testing.T) {
	m := newFakeMesh(t, "A", "B", "C")
	a, b := m.dirs["A"], m.dirs["B"]
	require.NoError(t, a.PutRoom(&livekit.Room{Name: "lobby", Sid: "RM_A", CreationTimeMs: 100, Metadata: "a"}))
	require.NoError(t, a.PutParticipant("lobby", richParticipant("alice")))
	m.deliver(nil)
	require.Equal(t, view(a), view(b))
	require.Equal(t, view(a), view(m.dirs["C"]))

	evs := drain(b)
	require.Len(t, evs, 2)
	slices.SortFunc(evs, func(x, y Event) int { return int(x.Kind) - int(y.Kind) })
	require.Equal(t, ParticipantUpserted, evs[0].Kind)
	require.Equal(t, "A", evs[0].Participant.NodeID)
	require.True(t, proto.Equal(richParticipant("alice"), evs[0].Participant.Info))
	require.Equal(t, RoomUpdated, evs[1].Kind)
	require.Equal(t, "RM_A", evs[1].RoomEntry.Room.Sid)

	// Unchanged puts are not re-broadcast; changes are.
	require.NoError(t, a.PutParticipant("lobby", richParticipant("alice")))
	require.Zero(t, a.bq.NumQueued())
	p := richParticipant("alice")
	p.Tracks[1].Muted = true
	require.NoError(t, a.PutParticipant("lobby", p))
	m.deliver(nil)
	got, ok := b.Participant("lobby", "alice")
	require.True(t, ok)
	require.True(t, got.Info.Tracks[1].Muted)

	require.True(t, a.RemoveParticipant("lobby", "alice"))
	require.False(t, a.RemoveParticipant("lobby", "alice"))
	m.deliver(nil)
	drain(b)
	require.Empty(t, b.Participants("lobby"))
	require.True(t, a.RemoveRoom("lobby"))
	m.deliver(nil)
	evs = drain(b)
	require.Len(t, evs, 1)
	require.Equal(t, RoomRemoved, evs[0].Kind)
	require.Equal(t, CauseRemoved, evs[0].Cause)
	require.Empty(t, b.Rooms())
}

// TestDirectoryReplicatesPermission: a change of subscription permission alone is a change,
// and other nodes see the permission with the entry.
func TestDirectoryReplicatesPermission(t *testing.T) {
	m := newFakeMesh(t, "A", "B")
	a, b := m.dirs["A"], m.dirs["B"]
	require.NoError(t, a.PutParticipant("lobby", richParticipant("alice")))
	m.deliver(nil)
	got, ok := b.Participant("lobby", "alice")
	require.True(t, ok)
	require.Nil(t, got.Permission, "no permission: everyone may subscribe")

	perm := &livekit.SubscriptionPermission{TrackPermissions: []*livekit.TrackPermission{
		{ParticipantIdentity: "bob", AllTracks: true}}}
	require.NoError(t, a.PutParticipantPermission("lobby", richParticipant("alice"), perm))
	require.NotZero(t, a.bq.NumQueued(), "a permission change is broadcast")
	m.deliver(nil)
	got, ok = b.Participant("lobby", "alice")
	require.True(t, ok)
	require.True(t, proto.Equal(perm, got.Permission), "permission replicated: %v", got.Permission)
	evs := drain(b)
	require.NotEmpty(t, evs)
	require.True(t, proto.Equal(perm, evs[len(evs)-1].Participant.Permission), "the event carries it")

	require.NoError(t, a.PutParticipantPermission("lobby", richParticipant("alice"), perm))
	require.Zero(t, a.bq.NumQueued(), "unchanged: not re-broadcast")
	require.NoError(t, a.PutParticipantPermission("lobby", richParticipant("alice"), &livekit.SubscriptionPermission{}))
	m.deliver(nil)
	got, _ = b.Participant("lobby", "alice")
	require.NotNil(t, got.Permission, "an empty permission (nobody) is kept distinct from none")
	require.Empty(t, got.Permission.TrackPermissions)
}

func TestDirectoryRoomMergeAcrossNodes(t *testing.T) {
	m := newFakeMesh(t, "A", "B")
	a, b := m.dirs["A"], m.dirs["B"]
	require.NoError(t, a.PutRoom(&livekit.Room{Name: "lobby", Sid: "RM_A", CreationTimeMs: 100, Metadata: "from-a", EmptyTimeout: 60}))
	m.deliver(nil)
	// B joins the room: it adopts the sid; its own metadata does not override the existing one.
	existing, ok := b.Room("lobby")
	require.True(t, ok)
	require.NoError(t, b.PutRoom(&livekit.Room{Name: "lobby", Sid: existing.Room.Sid, CreationTimeMs: 200, Metadata: "ignored"}))
	require.NoError(t, b.PutParticipant("lobby", richParticipant("bob")))
	require.NoError(t, a.PutParticipant("lobby", richParticipant("alice")))
	m.deliver(nil)
	r, _ := a.Room("lobby")
	require.Equal(t, "from-a", r.Room.Metadata)
	require.Equal(t, []string{"A", "B"}, r.Nodes)
	require.Equal(t, "A", r.NodeID)
	require.Equal(t, uint32(2), r.Room.NumParticipants)
	require.Equal(t, uint32(60), r.Room.EmptyTimeout)

	// Last writer wins, whichever node writes.
	require.Error(t, m.dirs["A"].SetRoomMetadata("nope", "x"))
	m.now = m.now.Add(time.Second)
	require.NoError(t, b.SetRoomMetadata("lobby", "from-b"))
	m.deliver(nil)
	require.Equal(t, view(a), view(b))
	r, _ = a.Room("lobby")
	require.Equal(t, "from-b", r.Room.Metadata)
	m.now = m.now.Add(time.Second)
	require.NoError(t, a.SetRoomMetadata("lobby", "from-a-2"))
	m.deliver(nil)
	r, _ = b.Room("lobby")
	require.Equal(t, "from-a-2", r.Room.Metadata)

	// The writer departs: its metadata survives (B adopted it), the room stays while B hosts it.
	b.nodeGone("A", CauseNodeFailed)
	r, ok = b.Room("lobby")
	require.True(t, ok)
	require.Equal(t, "from-a-2", r.Room.Metadata)
	require.Equal(t, "RM_A", r.Room.Sid)
	require.Equal(t, []string{"B"}, r.Nodes)
	require.Equal(t, uint32(1), r.Room.NumParticipants)
	evs := drain(b)
	require.Contains(t, evs, Event{Kind: ParticipantRemoved, Room: "lobby", Cause: CauseNodeFailed,
		Participant: &ParticipantEntry{Info: findPart(t, evs, "alice"), NodeID: "A", Room: "lobby"}})
}

func findPart(t *testing.T, evs []Event, identity string) *livekit.ParticipantInfo {
	t.Helper()
	for _, ev := range evs {
		if ev.Participant != nil && ev.Participant.Info.Identity == identity {
			return ev.Participant.Info
		}
	}
	t.Fatalf("no event for %s", identity)
	return nil
}

func TestAntiEntropyRepairsLostDeltas(t *testing.T) {
	m := newFakeMesh(t, "A", "B", "C")
	a, c := m.dirs["A"], m.dirs["C"]
	lossy := func(_, to string) bool { return to == "C" }
	require.NoError(t, a.PutRoom(&livekit.Room{Name: "r"}))
	for i := range 20 {
		require.NoError(t, a.PutParticipant("r", &livekit.ParticipantInfo{Identity: fmt.Sprint("p", i)}))
	}
	require.True(t, a.RemoveParticipant("r", "p3"))
	m.deliver(lossy)
	require.Empty(t, c.Participants("r"))
	require.NotEqual(t, view(a), view(c))

	// A periodic push/pull between B and C carries only digests; C notices it is behind B on A's
	// entries, waits SyncGrace for deltas in flight, then pulls A's entries from B.
	m.exchange("B", "C", false)
	require.Empty(t, c.Participants("r"))
	isMember := func(string) bool { return true }
	c.tick(m.now, isMember)
	require.Empty(t, m.syncs, "no pull before SyncGrace")
	m.now = m.now.Add(2 * time.Second)
	c.tick(m.now, isMember)
	require.Equal(t, []string{"C->B:pull", "B->C:answer"}, m.syncs)
	require.Equal(t, view(a), view(c))
	require.Len(t, c.Participants("r"), 19)
	require.Zero(t, c.stats.malformed.Load())

	// Equal digests trigger nothing.
	m.syncs = nil
	m.exchange("A", "C", false)
	m.now = m.now.Add(2 * time.Second)
	c.tick(m.now, isMember)
	require.Empty(t, m.syncs)
}

func TestOwnerRefutesResurrectedEntry(t *testing.T) {
	m := newFakeMesh(t, "A", "B")
	a, b := m.dirs["A"], m.dirs["B"]
	require.NoError(t, a.PutParticipant("r", &livekit.ParticipantInfo{Identity: "ghost"}))
	m.deliver(nil)
	held := b.st.owners["A"].live[entryKey{kind: kindParticipant, room: "r", identity: "ghost"}]
	require.NotNil(t, held)
	// A removes it, but B never hears, and A's tombstone expires.
	require.True(t, a.RemoveParticipant("r", "ghost"))
	a.bq.Reset()
	m.now = m.now.Add(2 * time.Minute)
	a.tick(m.now, func(string) bool { return true })
	// B's full state still carries the ghost; A refutes instead of believing it.
	m.exchange("B", "A", true)
	require.Empty(t, a.Participants("r"))
	require.Equal(t, uint64(1), a.stats.refutations.Load())
	m.deliver(nil)
	require.Empty(t, b.Participants("r"))
}

func TestOrphanEntriesArePurged(t *testing.T) {
	m := newFakeMesh(t, "A", "B")
	a, b := m.dirs["A"], m.dirs["B"]
	require.NoError(t, a.PutParticipant("r", &livekit.ParticipantInfo{Identity: "x"}))
	m.deliver(nil)
	notMember := func(id string) bool { return id != "A" }
	b.tick(m.now, notMember)
	m.now = m.now.Add(4 * time.Second)
	b.tick(m.now, notMember)
	require.Len(t, b.Participants("r"), 1, "kept within OrphanGrace")
	m.now = m.now.Add(2 * time.Second)
	b.tick(m.now, notMember)
	require.Empty(t, b.Participants("r"))
}

func TestEventQueueOverflowResyncs(t *testing.T) {
	var dropped atomic.Uint64
	q := newEventQueue(4, Event{Kind: Resync}, &dropped)
	got := make(chan Event, 16)
	cancel := q.subscribe(func(ev Event) { got <- ev })
	q.push(Event{Kind: ParticipantUpserted}, Event{Kind: ParticipantUpserted})
	q.push(Event{Kind: ParticipantUpserted}, Event{Kind: ParticipantUpserted}, Event{Kind: ParticipantUpserted})
	require.Equal(t, uint64(5), dropped.Load())
	done := make(chan struct{})
	go q.run(done)
	defer close(done)
	require.Equal(t, Resync, (<-got).Kind)
	q.push(Event{Kind: RoomUpdated})
	require.Equal(t, RoomUpdated, (<-got).Kind)
	cancel()
	q.push(Event{Kind: RoomUpdated})
	require.Never(t, func() bool { return len(got) > 0 }, 100*time.Millisecond, 10*time.Millisecond)
}
