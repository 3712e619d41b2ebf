package gossip

import (
	"time"

	"github.com/livekit/protocol/livekit"
)

// entryKind distinguishes directory entries.
type entryKind uint8

const (
	kindRoom        entryKind = 1
	kindParticipant entryKind = 2
)

// entryKey names an entry within its owner's entries; identity is empty for rooms.
type entryKey struct {
	kind     entryKind
	room     string
	identity string
}

// version orders an owner's writes: epoch (owner incarnation) first, then the owner's sequence.
type version struct{ epoch, seq uint64 }

func (v version) less(o version) bool {
	return v.epoch < o.epoch || (v.epoch == o.epoch && v.seq < o.seq)
}

// record is one replicated write: an entry (live) or a removal (tomb). Stored records are never
// mutated; an update replaces the pointer, so readers may share them.
type record struct {
	owner string
	ver   version
	key   entryKey
	tomb  bool
	// stamp orders room metadata across owners (last writer wins; see rooms.go).
	stamp uint64
	room  *livekit.Room            // kindRoom, live
	part  *livekit.ParticipantInfo // kindParticipant, live
	// perm is who may subscribe to the participant's tracks (kindParticipant, live); nil: everyone.
	perm *livekit.SubscriptionPermission
}

type tombstone struct {
	seq uint64
	at  time.Time
}

// ownerState is everything known about one owner's entries.
type ownerState struct {
	epoch  uint64
	hw     uint64 // highest seq applied in epoch (never lowered by tombstone expiry)
	hash   uint64 // order-independent sum of entryHash over live entries
	gone   bool   // membership reported the owner dead or left
	goneAt time.Time
	live   map[entryKey]*record
	tombs  map[entryKey]tombstone
}

// applyResult classifies the fate of a remote record.
type applyResult uint8

const (
	resApplied  applyResult = iota
	resStale                // duplicate or older than what is known
	resRejected             // from a departed owner, or a removal of our own entry
	resRefute               // another node claims an entry of ours that we do not hold
)

// changeKind is what happened to an entry.
type changeKind uint8

const (
	changeUpsert changeKind = iota + 1
	changeRemove
)

// change is an effect of a merge: the stored record after an upsert, the last record before a removal.
type change struct {
	kind  changeKind
	rec   *record
	cause Cause
}

type partKey struct{ owner, identity string }

// roomIndex groups live entries by room name for queries.
type roomIndex struct {
	entries map[string]*record  // room entries by owner
	parts   map[partKey]*record // participant entries
}

// dirState is the directory's merge state machine. It is pure (no I/O, time passed in) and not
// safe for concurrent use; Directory guards it with its mutex.
type dirState struct {
	self   string
	owners map[string]*ownerState
	rooms  map[string]*roomIndex
}

func newDirState(self string, epoch uint64) *dirState {
	s := &dirState{self: self, owners: make(map[string]*ownerState), rooms: make(map[string]*roomIndex)}
	s.owner(self).epoch = epoch
	return s
}

func (s *dirState) owner(id string) *ownerState {
	o := s.owners[id]
	if o == nil {
		o = &ownerState{live: make(map[entryKey]*record), tombs: make(map[entryKey]tombstone)}
		s.owners[id] = o
	}
	return o
}

// applyLocal stores a write of our own, assigning it the next version. r.owner, r.key, r.tomb
// and the payload must be set. It returns the stored record (for broadcast) and the change, or
// nil when r is a removal of an entry we do not hold.
func (s *dirState) applyLocal(r *record, now time.Time) (*record, []change) {
	o := s.owner(s.self)
	if r.tomb {
		if _, ok := o.live[r.key]; !ok {
			return nil, nil
		}
	}
	o.hw++
	r.ver = version{epoch: o.epoch, seq: o.hw}
	return r, s.store(o, r, now, CauseRemoved)
}

// applyRemote merges a record received from the network.
func (s *dirState) applyRemote(r *record, now time.Time) (applyResult, []change) {
	if r.owner == s.self {
		return s.selfClaim(r), nil
	}
	o := s.owner(r.owner)
	if o.gone && r.ver.epoch <= o.epoch {
		return resRejected, nil
	}
	if r.ver.epoch < o.epoch {
		return resStale, nil
	}
	var changes []change
	if r.ver.epoch > o.epoch {
		changes = s.purge(r.owner, CauseNodeRestarted)
		o.epoch, o.gone = r.ver.epoch, false
	}
	if r.ver.seq <= s.knownSeq(o, r.key) {
		return resStale, changes
	}
	return resApplied, append(changes, s.store(o, r, now, CauseRemoved)...)
}

// selfClaim judges another node's copy of one of our own entries. We are the only writer: a
// removal or a future epoch cannot be ours, and a live copy of something we do not hold live
// (removed and its tombstone expired, or left over from a previous epoch) must be refuted.
func (s *dirState) selfClaim(r *record) applyResult {
	o := s.owners[s.self]
	if r.tomb || r.ver.epoch > o.epoch {
		return resRejected
	}
	if _, ok := o.live[r.key]; ok {
		return resStale // ours is at least as new; the sender catches up by anti-entropy
	}
	return resRefute
}

// refutation returns a removal of our entry that beats the claimed copy: the tombstone we still
// hold if it is newer, or a fresh one above both our high-water mark and the claim.
func (s *dirState) refutation(claim *record, now time.Time) *record {
	o := s.owners[s.self]
	t, ok := o.tombs[claim.key]
	if !ok || (claim.ver.epoch == o.epoch && t.seq <= claim.ver.seq) {
		if claim.ver.epoch == o.epoch {
			o.hw = max(o.hw, claim.ver.seq)
		}
		o.hw++
		t = tombstone{seq: o.hw, at: now}
		o.tombs[claim.key] = t
	}
	return &record{owner: s.self, key: claim.key, tomb: true, ver: version{epoch: o.epoch, seq: t.seq}}
}

// knownSeq is the highest seq known for key (live or tombstone) in o's current epoch.
func (s *dirState) knownSeq(o *ownerState, k entryKey) uint64 {
	var seq uint64
	if cur, ok := o.live[k]; ok {
		seq = cur.ver.seq
	}
	if t, ok := o.tombs[k]; ok && t.seq > seq {
		seq = t.seq
	}
	return seq
}

// store applies r (already judged newer) to o.
func (s *dirState) store(o *ownerState, r *record, now time.Time, cause Cause) []change {
	o.hw = max(o.hw, r.ver.seq)
	prev, had := o.live[r.key]
	if r.tomb {
		o.tombs[r.key] = tombstone{seq: r.ver.seq, at: now}
		if !had {
			return nil
		}
		s.unlink(r.owner, o, prev)
		return []change{{kind: changeRemove, rec: prev, cause: cause}}
	}
	delete(o.tombs, r.key)
	if had {
		s.unlink(r.owner, o, prev)
	}
	o.live[r.key] = r
	o.hash += entryHash(r.key, r.ver.seq)
	ri := s.rooms[r.key.room]
	if ri == nil {
		ri = &roomIndex{entries: make(map[string]*record), parts: make(map[partKey]*record)}
		s.rooms[r.key.room] = ri
	}
	if r.key.kind == kindRoom {
		ri.entries[r.owner] = r
	} else {
		ri.parts[partKey{r.owner, r.key.identity}] = r
	}
	return []change{{kind: changeUpsert, rec: r}}
}

// unlink removes a live record from o and the room index.
func (s *dirState) unlink(owner string, o *ownerState, r *record) {
	delete(o.live, r.key)
	o.hash -= entryHash(r.key, r.ver.seq)
	ri := s.rooms[r.key.room]
	if ri == nil {
		return
	}
	if r.key.kind == kindRoom {
		delete(ri.entries, owner)
	} else {
		delete(ri.parts, partKey{owner, r.key.identity})
	}
	if len(ri.entries) == 0 && len(ri.parts) == 0 {
		delete(s.rooms, r.key.room)
	}
}

// purge drops every entry and tombstone of owner (not ourselves) and resets its digest.
func (s *dirState) purge(owner string, cause Cause) []change {
	o := s.owners[owner]
	if o == nil || owner == s.self {
		return nil
	}
	changes := make([]change, 0, len(o.live))
	for _, r := range o.live {
		s.unlink(owner, o, r)
		changes = append(changes, change{kind: changeRemove, rec: r, cause: cause})
	}
	clear(o.tombs)
	o.hw, o.hash = 0, 0
	return changes
}

// ownerGone records that membership declared owner dead or left: its entries vanish and its
// current epoch is refused until it is seen alive again.
func (s *dirState) ownerGone(owner string, cause Cause, now time.Time) []change {
	if owner == s.self {
		return nil
	}
	o := s.owner(owner)
	changes := s.purge(owner, cause)
	o.gone, o.goneAt = true, now
	return changes
}

// ownerAlive records that membership lists owner alive with the given directory epoch (0 if
// unknown). A higher epoch means the owner restarted: its older entries are dropped.
func (s *dirState) ownerAlive(owner string, epoch uint64) []change {
	if owner == s.self {
		return nil
	}
	o := s.owner(owner)
	o.gone = false
	if epoch <= o.epoch {
		return nil
	}
	changes := s.purge(owner, CauseNodeRestarted)
	o.epoch = epoch
	return changes
}

// applySnapshot applies an owner's own full list of its entries (epoch, hw and live keys): any
// entry we hold for it in that epoch, at or below hw, that the owner no longer lists is gone.
// Records of the snapshot must have been applied first.
func (s *dirState) applySnapshot(owner string, epoch, hw uint64, keys map[entryKey]struct{}, now time.Time) []change {
	o := s.owners[owner]
	if o == nil || owner == s.self || o.gone || o.epoch != epoch {
		return nil
	}
	var changes []change
	for k, r := range o.live {
		if _, ok := keys[k]; ok || r.ver.seq > hw {
			continue
		}
		s.unlink(owner, o, r)
		o.tombs[k] = tombstone{seq: r.ver.seq, at: now}
		changes = append(changes, change{kind: changeRemove, rec: r, cause: CauseRemoved})
	}
	return changes
}

// gc expires tombstones older than ttl and forgets departed owners after ttl.
func (s *dirState) gc(now time.Time, ttl time.Duration) {
	for id, o := range s.owners {
		for k, t := range o.tombs {
			if now.Sub(t.at) > ttl {
				delete(o.tombs, k)
			}
		}
		if o.gone && len(o.live) == 0 && now.Sub(o.goneAt) > ttl {
			delete(s.owners, id)
		}
	}
}

// entryHash is FNV-1a over the key and seq; owners' digests sum it over their live entries.
func entryHash(k entryKey, seq uint64) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(b byte) { h ^= uint64(b); h *= prime }
	mix(byte(k.kind))
	for i := 0; i < len(k.room); i++ {
		mix(k.room[i])
	}
	mix(0)
	for i := 0; i < len(k.identity); i++ {
		mix(k.identity[i])
	}
	mix(0)
	for i := range 8 {
		mix(byte(seq >> (8 * i)))
	}
	return h
}
