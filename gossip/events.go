package gossip

import (
	"sync"
	"sync/atomic"

	"github.com/livekit/protocol/livekit"
)

// Cause says why an entry was removed.
type Cause uint8

const (
	CauseNone Cause = iota
	// CauseRemoved: the owning node removed the entry.
	CauseRemoved
	// CauseNodeLeft: the owning node left the cluster gracefully.
	CauseNodeLeft
	// CauseNodeFailed: the owning node was declared dead (killed, crashed, partitioned away).
	CauseNodeFailed
	// CauseNodeRestarted: the owning node restarted; entries of its previous life are gone.
	CauseNodeRestarted
)

func (c Cause) String() string {
	return [...]string{"none", "removed", "node-left", "node-failed", "node-restarted", "unknown"}[min(int(c), 5)]
}

// EventKind is the kind of a directory Event.
type EventKind uint8

const (
	// ParticipantUpserted: a participant appeared or changed (Participant is the new state).
	ParticipantUpserted EventKind = iota + 1
	// ParticipantRemoved: a participant is gone (Participant is its last state, Cause why).
	ParticipantRemoved
	// RoomUpdated: a room appeared or its merged view changed (RoomEntry is the new view).
	RoomUpdated
	// RoomRemoved: no node hosts the room any more (RoomEntry is its last view, Cause why).
	RoomRemoved
	// Resync: events were dropped because subscribers fell behind; re-read the snapshot.
	Resync
)

func (k EventKind) String() string {
	return [...]string{"invalid", "participant-upserted", "participant-removed", "room-updated",
		"room-removed", "resync", "unknown"}[min(int(k), 6)]
}

// ParticipantEntry is a participant as the directory knows it.
type ParticipantEntry struct {
	// Info is shared and read-only: the directory never mutates it, and neither may callers.
	Info *livekit.ParticipantInfo
	// Permission is who may subscribe to the participant's tracks; nil: everyone. Shared and
	// read-only like Info.
	Permission *livekit.SubscriptionPermission
	// NodeID is the owning node, where the participant is connected.
	NodeID string
	// Room is the room name.
	Room string
}

// RoomEntry is a room as the directory knows it: the merged view of the entries asserted by
// every node hosting it (see rooms.go for the rules).
type RoomEntry struct {
	// Room is shared and read-only. NumParticipants/NumPublishers are mesh-wide counts in
	// Rooms/Room results; they are not maintained in event payloads.
	Room *livekit.Room
	// NodeID is the node whose entry supplied the room's identity (sid, creation time).
	NodeID string
	// Nodes lists every node hosting the room, sorted.
	Nodes []string
}

// Event is a directory change. Events are delivered for local and remote entries alike (compare
// Participant.NodeID with the local node id to tell them apart).
type Event struct {
	Kind        EventKind
	Room        string
	Participant *ParticipantEntry
	RoomEntry   *RoomEntry
	Cause       Cause
}

// eventQueue fans events out to subscribers from one dispatcher goroutine. push never blocks:
// events queue up to limit; beyond it the queue is discarded (counted in dropped) and
// subscribers get the resync event instead, after which they must re-read the state.
type eventQueue[T any] struct {
	limit   int
	resync  T
	dropped *atomic.Uint64
	wake    chan struct{}

	mu         sync.Mutex // guards the fields below
	pending    []T
	overflowed bool
	subs       map[uint64]func(T)
	nextID     uint64
}

func newEventQueue[T any](limit int, resync T, dropped *atomic.Uint64) *eventQueue[T] {
	return &eventQueue[T]{limit: limit, resync: resync, dropped: dropped,
		wake: make(chan struct{}, 1), subs: make(map[uint64]func(T))}
}

// push queues events for delivery; it never blocks. Without subscribers events are discarded.
func (q *eventQueue[T]) push(evs ...T) {
	if len(evs) == 0 {
		return
	}
	q.mu.Lock()
	switch {
	case len(q.subs) == 0:
	case q.overflowed:
		q.dropped.Add(uint64(len(evs)))
	case len(q.pending)+len(evs) > q.limit:
		q.dropped.Add(uint64(len(q.pending) + len(evs)))
		q.pending = q.pending[:0]
		q.overflowed = true
	default:
		q.pending = append(q.pending, evs...)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// subscribe registers fn; cancel stops delivery (a call already running may still finish).
func (q *eventQueue[T]) subscribe(fn func(T)) (cancel func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nextID++
	id := q.nextID
	q.subs[id] = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			delete(q.subs, id)
			q.mu.Unlock()
		})
	}
}

// run dispatches until done is closed.
func (q *eventQueue[T]) run(done <-chan struct{}) {
	var batch []T
	var subs []func(T)
	for {
		select {
		case <-done:
			return
		case <-q.wake:
		}
		q.mu.Lock()
		batch, q.pending = q.pending, batch[:0]
		if q.overflowed {
			batch = append(batch, q.resync)
			q.overflowed = false
		}
		subs = subs[:0]
		for _, fn := range q.subs {
			subs = append(subs, fn)
		}
		q.mu.Unlock()
		for _, ev := range batch {
			for _, fn := range subs {
				fn(ev)
			}
		}
		clear(batch)
	}
}
