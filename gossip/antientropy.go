package gossip

import "sort"

// Anti-entropy. Deltas are broadcast, and receivers re-broadcast what was new to them, so an
// update normally reaches every node within a few gossip rounds. What a broadcast misses is
// repaired through memberlist's push/pull:
//
//   - the periodic push/pull (every PushPullInterval, with one random peer) carries only
//     digests: per owner (epoch, hw = highest seq applied, hash = sum of entryHash over its
//     live entries). Equal hashes mean equal live entries for that owner;
//   - a node that finds itself behind a peer for some owners (lower epoch or hw) or diverged
//     (same hw, different hash) waits SyncGrace for deltas in flight, re-checks against the
//     peer's claim, and then pulls just those owners from that peer: a pull request answered,
//     over a stream, with the peer's entries and tombstones of those owners;
//   - full state goes both ways on memberlist joins: the initial join, a rejoin after a
//     partition (we exchange with the node that came back) and, while a node's broadcast
//     backlog is too deep for packets (a burst of writes), a join with a random member every
//     ProbeInterval (see loops.go). Exchanges are serialised, at most one per peer per
//     SyncGrace and one per node per 200 ms;
//   - an owner's full state is authoritative for its own entries: entries held for it that it
//     no longer lists (and that are not newer than its hw) are dropped;
//   - when an owner sees someone else's copy of an entry of its own that it does not hold, it
//     refutes it with a fresh tombstone (see dirState.selfClaim).
//
// Entries move only on join, rejoin, bursts and actual divergence (then only the owners that
// differ), so the steady-state cost of anti-entropy is a few bytes per owner per
// PushPullInterval.

// digestCmp is how our view of an owner compares with a peer's digest.
type digestCmp uint8

const (
	digestEqual    digestCmp = iota
	digestBehind             // the peer has newer entries of this owner
	digestAhead              // we have newer entries (the peer will catch up from us)
	digestDiverged           // same high-water mark, different entries
)

// digests summarises every owner we hold entries for (and ourselves).
func (s *dirState) digests() []digest {
	out := make([]digest, 0, len(s.owners))
	for id, o := range s.owners {
		if o.gone || o.epoch == 0 || (o.hw == 0 && id != s.self) {
			continue
		}
		out = append(out, digest{owner: id, epoch: o.epoch, hw: o.hw, hash: o.hash})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].owner < out[j].owner })
	return out
}

// compareDigest compares our view of d.owner with a peer's digest.
func (s *dirState) compareDigest(d digest) digestCmp {
	if d.owner == s.self {
		return digestEqual // we are the authority for our own entries
	}
	o := s.owners[d.owner]
	switch {
	case o == nil:
		if d.hash != 0 {
			return digestBehind
		}
	case o.gone:
		// We saw it depart; the peer will too.
	case d.epoch != o.epoch:
		if d.epoch > o.epoch {
			return digestBehind
		}
		return digestAhead
	case d.hash == o.hash:
		// Same live entries; only expired tombstones can differ, and they change nothing.
	case d.hw > o.hw:
		return digestBehind
	case d.hw < o.hw:
		return digestAhead
	default:
		return digestDiverged
	}
	return digestEqual
}

// export lists every live entry and tombstone of every owner not seen departed, for a full
// state exchange. Tombstones are returned as fresh records; live records are shared.
func (s *dirState) export() []*record {
	n := 0
	for _, o := range s.owners {
		n += len(o.live) + len(o.tombs)
	}
	out := make([]*record, 0, n)
	for id := range s.owners {
		out = s.exportOwner(out, id)
	}
	return out
}

// exportOwner appends owner's live entries and tombstones to out (nothing if it departed).
func (s *dirState) exportOwner(out []*record, owner string) []*record {
	o := s.owners[owner]
	if o == nil || o.gone {
		return out
	}
	for _, r := range o.live {
		out = append(out, r)
	}
	for k, t := range o.tombs {
		out = append(out, &record{owner: owner, key: k, tomb: true, ver: version{epoch: o.epoch, seq: t.seq}})
	}
	return out
}

// digestOf returns owner's digest, if we hold a current view of it.
func (s *dirState) digestOf(owner string) (digest, bool) {
	o := s.owners[owner]
	if o == nil || o.gone || o.epoch == 0 {
		return digest{}, false
	}
	return digest{owner: owner, epoch: o.epoch, hw: o.hw, hash: o.hash}, true
}
