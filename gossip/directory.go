package gossip

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/livekit/protocol/livekit"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
)

// maxPayloadSize bounds one entry's payload (a participant with its tracks, or a room).
const maxPayloadSize = 256 << 10

// Directory is the replicated room directory: rooms, participants and their published tracks
// on every node of the cluster. Writes (Put*/Remove*) are for entries owned by this node and
// return after the local state changed and the delta was queued for broadcast. Reads return
// consistent snapshots of what this node knows. All methods are safe for concurrent use.
//
// Concurrency contract: a single mutex guards the merge state; it is held only for in-memory
// merges, never across I/O, so memberlist's delegate callbacks that feed the directory never
// block its receive loop. Events are delivered on the cluster's dispatcher goroutine.
type Directory struct {
	self   string
	log    zerolog.Logger
	cfg    dirConfig
	stats  *counters
	events *eventQueue[Event]
	// bq holds our own writes, retransmitted RetransmitMult × ceil(log10(N+1)) times; relayQ
	// holds other owners' deltas we re-broadcast once on first receipt, retransmitted only
	// ceil(log10(N+1)) times: enough to spread them epidemically at a fraction of the traffic.
	bq     *memberlist.TransmitLimitedQueue
	relayQ *memberlist.TransmitLimitedQueue

	mu       sync.Mutex // guards the fields below
	st       *dirState
	views    map[string]*RoomEntry // merged room views by name
	maxStamp uint64                // highest room metadata stamp seen
	orphans  map[string]time.Time  // owner → since when it has entries but no membership
	syncs    map[string]pendingSync
}

// dirConfig parameterises a Directory.
type dirConfig struct {
	self           string
	epoch          uint64
	log            zerolog.Logger
	maxBroadcast   int // largest delta sent by broadcast; larger ones go to sendLarge
	retransmitMult int
	numNodes       func() int
	tombstoneTTL   time.Duration
	orphanGrace    time.Duration
	syncGrace      time.Duration
	now            func() time.Time
	// sendLarge fans a delta too large for a packet out over streams; it must not block.
	sendLarge func(name string, msg []byte)
	// requestSync asks for a full state exchange with a node; it must not block.
	requestSync func(nodeID string)
	// sendTo sends a message to one node over a reliable stream; it must not block. key
	// coalesces: a queued message with the same key is replaced.
	sendTo func(nodeID, key string, msg []byte)
}

// pendingSync is a digest mismatch waiting out SyncGrace.
type pendingSync struct {
	peer  string
	claim digest
	due   time.Time
}

func newDirectory(cfg dirConfig, stats *counters, events *eventQueue[Event]) *Directory {
	return &Directory{
		self:    cfg.self,
		log:     cfg.log,
		cfg:     cfg,
		stats:   stats,
		events:  events,
		bq:      &memberlist.TransmitLimitedQueue{NumNodes: cfg.numNodes, RetransmitMult: cfg.retransmitMult},
		relayQ:  &memberlist.TransmitLimitedQueue{NumNodes: cfg.numNodes, RetransmitMult: 1},
		st:      newDirState(cfg.self, cfg.epoch),
		views:   make(map[string]*RoomEntry),
		orphans: make(map[string]time.Time),
		syncs:   make(map[string]pendingSync),
	}
}

// NodeID is the id of the local node, the owner of the entries this Directory writes.
func (d *Directory) NodeID() string { return d.self }

// Subscribe registers fn for directory events. fn runs on the cluster's dispatcher goroutine,
// one event at a time and in order; it must return quickly (hand work off) because it delays
// every later event. It may call the Directory's methods and cancel. Subscribe first, then read
// the snapshot (Rooms, Participants): upserts are idempotent, so an event overlapping the
// snapshot is harmless. A Resync event means events were dropped: re-read the snapshot.
func (d *Directory) Subscribe(fn func(Event)) (cancel func()) { return d.events.subscribe(fn) }

// PutParticipant stores or updates a participant connected to this node (owner: this node),
// with its published tracks in info.Tracks. info is copied. An unchanged participant is not
// re-broadcast.
func (d *Directory) PutParticipant(room string, info *livekit.ParticipantInfo) error {
	return d.PutParticipantPermission(room, info, nil)
}

// PutParticipantPermission is PutParticipant with the participant's subscription permission
// (who may subscribe to its tracks; nil: everyone), replicated with the entry so that other
// edges enforce it for their subscribers.
func (d *Directory) PutParticipantPermission(room string, info *livekit.ParticipantInfo, perm *livekit.SubscriptionPermission) error {
	if info == nil || info.Identity == "" || len(info.Identity) > maxNameLen || room == "" || len(room) > maxNameLen {
		return fmt.Errorf("%w: participant needs a room name and an identity", ErrInvalidEntry)
	}
	if n := proto.Size(info) + proto.Size(perm); n > maxPayloadSize {
		return fmt.Errorf("%w: participant %q is %d bytes", ErrInvalidEntry, info.Identity, n)
	}
	p := proto.CloneOf(info)
	var pm *livekit.SubscriptionPermission
	if perm != nil {
		pm = proto.CloneOf(perm)
	}
	key := entryKey{kind: kindParticipant, room: room, identity: info.Identity}
	d.mu.Lock()
	if prev := d.st.owners[d.self].live[key]; prev != nil && proto.Equal(prev.part, p) && proto.Equal(prev.perm, pm) {
		d.mu.Unlock()
		return nil
	}
	d.writeLocked(&record{owner: d.self, key: key, part: p, perm: pm})
	return nil
}

// RemoveParticipant removes a participant of this node; false if it was not in the directory.
func (d *Directory) RemoveParticipant(room, identity string) bool {
	d.mu.Lock()
	return d.writeLocked(&record{owner: d.self, key: entryKey{kind: kindParticipant, room: room, identity: identity}, tomb: true})
}

// PutRoom asserts that this node hosts room (see rooms.go for how entries of several nodes
// merge). room.Metadata is used only if no node hosts the room yet; change metadata with
// SetRoomMetadata. Node-local fields (codecs, TURN password, counts) are not replicated.
func (d *Directory) PutRoom(room *livekit.Room) error {
	if room == nil || room.Name == "" || len(room.Name) > maxNameLen {
		return fmt.Errorf("%w: room needs a name", ErrInvalidEntry)
	}
	w := roomForWire(room)
	if n := proto.Size(w); n > maxPayloadSize {
		return fmt.Errorf("%w: room %q is %d bytes", ErrInvalidEntry, room.Name, n)
	}
	key := entryKey{kind: kindRoom, room: room.Name}
	d.mu.Lock()
	prev := d.st.owners[d.self].live[key]
	var stamp uint64
	if prev != nil {
		w.Metadata, stamp = prev.room.Metadata, prev.stamp
	} else if ri := d.st.rooms[room.Name]; ri != nil && len(ri.entries) > 0 {
		win := metaWinner(ri.entries)
		w.Metadata, stamp = win.room.Metadata, win.stamp
	} else {
		stamp = d.nextStampLocked()
	}
	if prev != nil && proto.Equal(prev.room, w) {
		d.mu.Unlock()
		return nil
	}
	d.writeLocked(&record{owner: d.self, key: key, room: w, stamp: stamp})
	return nil
}

// SetRoomMetadata sets a room's metadata mesh-wide (last writer wins). This node must host the
// room (PutRoom first); otherwise ErrInvalidEntry.
func (d *Directory) SetRoomMetadata(name, metadata string) error {
	key := entryKey{kind: kindRoom, room: name}
	d.mu.Lock()
	prev := d.st.owners[d.self].live[key]
	if prev == nil {
		d.mu.Unlock()
		return fmt.Errorf("%w: room %q is not hosted by this node", ErrInvalidEntry, name)
	}
	w := proto.CloneOf(prev.room)
	w.Metadata = metadata
	if n := proto.Size(w); n > maxPayloadSize {
		d.mu.Unlock()
		return fmt.Errorf("%w: room %q is %d bytes", ErrInvalidEntry, name, n)
	}
	d.writeLocked(&record{owner: d.self, key: key, room: w, stamp: d.nextStampLocked()})
	return nil
}

func (d *Directory) nextStampLocked() uint64 {
	d.maxStamp = max(uint64(d.cfg.now().UnixNano()), d.maxStamp+1)
	return d.maxStamp
}

// RemoveRoom withdraws this node's room entry; the room stays while other nodes host it.
func (d *Directory) RemoveRoom(name string) bool {
	d.mu.Lock()
	return d.writeLocked(&record{owner: d.self, key: entryKey{kind: kindRoom, room: name}, tomb: true})
}

// writeLocked applies a local write, unlocks d.mu, then broadcasts and emits events. It
// reports whether anything changed.
func (d *Directory) writeLocked(r *record) bool {
	stored, changes := d.st.applyLocal(r, d.cfg.now())
	evs, adopted := d.eventsLocked(changes)
	d.mu.Unlock()
	if stored != nil {
		d.broadcast(stored)
	}
	d.broadcastAll(adopted)
	d.events.push(evs...)
	return stored != nil
}

// Rooms lists every room in the directory, sorted by name, with mesh-wide counts.
func (d *Directory) Rooms() []RoomEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]RoomEntry, 0, len(d.views))
	for name, v := range d.views {
		out = append(out, withCounts(v, d.st.rooms[name]))
	}
	slices.SortFunc(out, func(a, b RoomEntry) int { return strings.Compare(a.Room.Name, b.Room.Name) })
	return out
}

// Room returns one room's merged view with mesh-wide counts.
func (d *Directory) Room(name string) (RoomEntry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.views[name]
	if v == nil {
		return RoomEntry{}, false
	}
	return withCounts(v, d.st.rooms[name]), true
}

// Participants lists a room's participants on every node, sorted by identity then node. An
// identity may briefly appear on two nodes when it reconnects to another edge; the node owning
// the older one (lower JoinedAtMs) is expected to disconnect it.
func (d *Directory) Participants(room string) []ParticipantEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	ri := d.st.rooms[room]
	if ri == nil {
		return nil
	}
	out := make([]ParticipantEntry, 0, len(ri.parts))
	for pk, r := range ri.parts {
		out = append(out, ParticipantEntry{Info: r.part, Permission: r.perm, NodeID: pk.owner, Room: room})
	}
	slices.SortFunc(out, func(a, b ParticipantEntry) int {
		if c := strings.Compare(a.Info.Identity, b.Info.Identity); c != 0 {
			return c
		}
		return strings.Compare(a.NodeID, b.NodeID)
	})
	return out
}

// Participant returns one participant; if the identity is on several nodes, the latest joined.
func (d *Directory) Participant(room, identity string) (ParticipantEntry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var best ParticipantEntry
	ri := d.st.rooms[room]
	if ri == nil {
		return best, false
	}
	for pk, r := range ri.parts {
		if pk.identity == identity && (best.Info == nil || r.part.JoinedAtMs > best.Info.JoinedAtMs) {
			best = ParticipantEntry{Info: r.part, Permission: r.perm, NodeID: pk.owner, Room: room}
		}
	}
	return best, best.Info != nil
}

// eventsLocked turns merge changes into events and refreshes the merged room views. Where
// another node's room metadata now wins, our own entry adopts it; those writes are returned for
// broadcast.
func (d *Directory) eventsLocked(changes []change) ([]Event, []*record) {
	if len(changes) == 0 {
		return nil, nil
	}
	evs := make([]Event, 0, len(changes))
	var dirty map[string]Cause
	for _, c := range changes {
		if c.rec.key.kind == kindRoom {
			if dirty == nil {
				dirty = make(map[string]Cause)
			}
			dirty[c.rec.key.room] = c.cause
			if c.kind == changeUpsert {
				d.maxStamp = max(d.maxStamp, c.rec.stamp)
			}
			continue
		}
		ev := Event{Kind: ParticipantUpserted, Room: c.rec.key.room,
			Participant: &ParticipantEntry{Info: c.rec.part, Permission: c.rec.perm, NodeID: c.rec.owner, Room: c.rec.key.room}}
		if c.kind == changeRemove {
			ev.Kind, ev.Cause = ParticipantRemoved, c.cause
		}
		evs = append(evs, ev)
	}
	var adopted []*record
	for name, cause := range dirty {
		var entries map[string]*record
		if ri := d.st.rooms[name]; ri != nil {
			entries = ri.entries
			if r := d.adoptLocked(entries); r != nil {
				adopted = append(adopted, r)
			}
		}
		prev, next := d.views[name], mergeRoom(entries)
		switch {
		case sameRoomView(prev, next):
		case next == nil:
			delete(d.views, name)
			evs = append(evs, Event{Kind: RoomRemoved, Room: name, RoomEntry: prev, Cause: cause})
		default:
			d.views[name] = next
			evs = append(evs, Event{Kind: RoomUpdated, Room: name, RoomEntry: next})
		}
	}
	return evs, adopted
}

// adoptLocked copies the winning metadata (and its stamp) into our own entry of a room.
func (d *Directory) adoptLocked(entries map[string]*record) *record {
	own := entries[d.self]
	win := metaWinner(entries)
	if own == nil || win == own || win.stamp <= own.stamp {
		return nil
	}
	w := proto.CloneOf(own.room)
	w.Metadata = win.room.Metadata
	stored, _ := d.st.applyLocal(&record{owner: d.self, key: own.key, room: w, stamp: win.stamp}, d.cfg.now())
	return stored
}
