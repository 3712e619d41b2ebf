package gossip

import (
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// maxQueuedDeltas bounds the broadcast queue (it cannot drain while this node is alone);
// anything pruned is repaired by anti-entropy.
const maxQueuedDeltas = 8192

// deltaBroadcast is one queued delta. It is named after its entry, so a newer delta for the same
// entry replaces a queued older one (memberlist.NamedBroadcast).
type deltaBroadcast struct {
	name string
	msg  []byte
}

var _ memberlist.NamedBroadcast = (*deltaBroadcast)(nil)

func (b *deltaBroadcast) Invalidates(o memberlist.Broadcast) bool {
	nb, ok := o.(memberlist.NamedBroadcast)
	return ok && nb.Name() == b.name
}
func (b *deltaBroadcast) Name() string    { return b.name }
func (b *deltaBroadcast) Message() []byte { return b.msg }
func (b *deltaBroadcast) Finished()       {}

func broadcastName(r *record) string {
	return r.owner + "\x00" + string(rune('0'+r.key.kind)) + r.key.room + "\x00" + r.key.identity
}

// broadcast encodes r and queues it for dissemination.
func (d *Directory) broadcast(r *record) {
	msg, err := encodeDelta(r)
	if err != nil {
		d.log.Error().Err(err).Str("room", r.key.room).Msg("cannot encode directory delta")
		return
	}
	d.queue(d.bq, broadcastName(r), msg)
}

func (d *Directory) broadcastAll(recs []*record) {
	for _, r := range recs {
		d.broadcast(r)
	}
}

func (d *Directory) queue(q *memberlist.TransmitLimitedQueue, name string, msg []byte) {
	if len(msg) > d.cfg.maxBroadcast {
		d.stats.largeDeltas.Add(1)
		if d.cfg.sendLarge != nil {
			d.cfg.sendLarge(name, msg)
		}
		return
	}
	d.stats.broadcasts.Add(1)
	q.QueueBroadcast(&deltaBroadcast{name: name, msg: msg})
}

// queued is the number of deltas waiting for gossip.
func (d *Directory) queued() int { return d.bq.NumQueued() + d.relayQ.NumQueued() }

// getBroadcasts is memberlist's GetBroadcasts: our own writes first, relays with what is left.
func (d *Directory) getBroadcasts(overhead, limit int) [][]byte {
	out := d.bq.GetBroadcasts(overhead, limit)
	for _, m := range out {
		limit -= len(m) + overhead
	}
	if limit <= overhead {
		return out
	}
	return append(out, d.relayQ.GetBroadcasts(overhead, limit)...)
}

// handleMessage is memberlist's NotifyMsg path: decode outside the lock, merge in memory,
// re-broadcast a record that was new to us (epidemic dissemination: the owner's own
// transmissions alone do not reach every node), emit events. It never blocks on I/O; b is not
// retained.
func (d *Directory) handleMessage(b []byte) {
	m, err := decodeMessage(b)
	if err != nil {
		d.stats.malformed.Add(1)
		d.log.Debug().Err(err).Int("bytes", len(b)).Msg("dropped malformed directory message")
		return
	}
	d.stats.messages.Add(1)
	switch {
	case m.rec != nil:
		if d.merge([]*record{m.rec}) == 1 && len(b) <= d.cfg.maxBroadcast {
			d.queue(d.relayQ, broadcastName(m.rec), slices.Clone(b))
		}
	case m.state != nil:
		d.mergeStateMsg(m.state)
	case m.pull != nil:
		d.answerPull(m.pull)
	}
}

// answerPull sends the requested owners' entries (with their digests) back to the requester.
func (d *Directory) answerPull(p *pullMsg) {
	if d.cfg.sendTo == nil || p.sender == d.self {
		return
	}
	sm := &stateMsg{sender: d.self, full: true}
	d.mu.Lock()
	for _, o := range p.owners {
		sm.recs = d.st.exportOwner(sm.recs, o)
		if dg, ok := d.st.digestOf(o); ok {
			sm.digests = append(sm.digests, dg)
		}
	}
	d.mu.Unlock()
	b, err := encodeState(sm)
	if err != nil {
		d.log.Error().Err(err).Msg("cannot encode pull answer")
		return
	}
	d.stats.pullsAnswered.Add(1)
	d.cfg.sendTo(p.sender, "answer\x00"+p.sender+"\x00"+strings.Join(p.owners, "\x00"), b)
}

// merge applies remote records and returns how many were new. Claims about our own entries
// that we do not hold are refuted by broadcast.
func (d *Directory) merge(recs []*record) int {
	if len(recs) == 0 {
		return 0
	}
	now := d.cfg.now()
	var (
		applied int
		refutes []*record
		changes []change
	)
	d.mu.Lock()
	for _, r := range recs {
		res, ch := d.st.applyRemote(r, now)
		changes = append(changes, ch...)
		switch res {
		case resApplied:
			applied++
		case resStale:
			d.stats.stale.Add(1)
		case resRejected:
			d.stats.rejected.Add(1)
		case resRefute:
			refutes = append(refutes, d.st.refutation(r, now))
		}
	}
	evs, adopted := d.eventsLocked(changes)
	d.mu.Unlock()
	d.stats.applied.Add(uint64(applied))
	d.stats.refutations.Add(uint64(len(refutes)))
	d.broadcastAll(refutes)
	d.broadcastAll(adopted)
	d.events.push(evs...)
	return applied
}

// localState is memberlist's LocalState: digests only for the periodic push/pull, everything
// for a join (see antientropy.go).
func (d *Directory) localState(join bool) []byte {
	d.mu.Lock()
	sm := &stateMsg{sender: d.self, full: join, digests: d.st.digests()}
	if join {
		sm.recs = d.st.export()
	}
	d.mu.Unlock()
	b, err := encodeState(sm)
	if err != nil {
		d.log.Error().Err(err).Msg("cannot encode directory state")
		return nil
	}
	if join {
		d.stats.fullStates.Add(1)
	}
	return b
}

// mergeState is memberlist's MergeRemoteState.
func (d *Directory) mergeState(b []byte, _ bool) {
	m, err := decodeMessage(b)
	if err != nil || m.state == nil {
		d.stats.malformed.Add(1)
		d.log.Debug().Err(err).Int("bytes", len(b)).Msg("dropped malformed directory state")
		return
	}
	d.stats.messages.Add(1)
	d.mergeStateMsg(m.state)
}

// mergeStateMsg merges a push/pull state or a pull answer: records, the sender's snapshot of
// its own entries if included, and digest comparisons that may schedule pulls.
func (d *Directory) mergeStateMsg(sm *stateMsg) {
	d.merge(sm.recs)
	now := d.cfg.now()
	var changes []change
	d.mu.Lock()
	if sm.full {
		changes = d.snapshotLocked(sm, now)
	}
	for _, dg := range sm.digests {
		switch d.st.compareDigest(dg) {
		case digestBehind, digestDiverged:
			if _, ok := d.syncs[dg.owner]; !ok {
				d.syncs[dg.owner] = pendingSync{peer: sm.sender, claim: dg, due: now.Add(d.cfg.syncGrace)}
			}
		}
	}
	evs, adopted := d.eventsLocked(changes)
	d.mu.Unlock()
	d.broadcastAll(adopted)
	d.events.push(evs...)
}

// snapshotLocked applies the sender's full list of its own entries.
func (d *Directory) snapshotLocked(sm *stateMsg, now time.Time) []change {
	i := slices.IndexFunc(sm.digests, func(dg digest) bool { return dg.owner == sm.sender })
	if i < 0 {
		return nil
	}
	own := sm.digests[i]
	keys := make(map[entryKey]struct{})
	for _, r := range sm.recs {
		if r.owner == sm.sender && !r.tomb && r.ver.epoch == own.epoch {
			keys[r.key] = struct{}{}
		}
	}
	return d.st.applySnapshot(sm.sender, own.epoch, own.hw, keys, now)
}

// nodeAlive records that membership lists id alive with directory epoch (0 if unknown). If we
// had seen it depart (a partition healed), a full exchange with it is requested.
func (d *Directory) nodeAlive(id string, epoch uint64) {
	if id == d.self {
		return
	}
	d.mu.Lock()
	o := d.st.owners[id]
	rejoin := o != nil && o.gone
	changes := d.st.ownerAlive(id, epoch)
	delete(d.orphans, id)
	evs, adopted := d.eventsLocked(changes)
	d.mu.Unlock()
	d.broadcastAll(adopted)
	if rejoin && d.cfg.requestSync != nil {
		d.cfg.requestSync(id)
	}
	d.events.push(evs...)
}

// nodeGone records that membership declared id dead or left: its entries vanish.
func (d *Directory) nodeGone(id string, cause Cause) {
	d.mu.Lock()
	changes := d.st.ownerGone(id, cause, d.cfg.now())
	delete(d.orphans, id)
	delete(d.syncs, id)
	evs, adopted := d.eventsLocked(changes)
	d.mu.Unlock()
	d.broadcastAll(adopted)
	d.events.push(evs...)
}

// tick runs periodic maintenance: tombstone expiry, orphan removal (entries of owners that
// membership has not listed alive for OrphanGrace) and due digest re-checks.
func (d *Directory) tick(now time.Time, isMember func(string) bool) {
	var changes []change
	d.mu.Lock()
	d.st.gc(now, d.cfg.tombstoneTTL)
	for id, o := range d.st.owners {
		if id == d.self || o.gone || len(o.live) == 0 || isMember(id) {
			delete(d.orphans, id)
			continue
		}
		since, ok := d.orphans[id]
		if !ok {
			d.orphans[id] = now
			continue
		}
		if now.Sub(since) >= d.cfg.orphanGrace {
			changes = append(changes, d.st.ownerGone(id, CauseNodeFailed, now)...)
			delete(d.orphans, id)
			d.stats.orphans.Add(1)
		}
	}
	pulls := make(map[string][]string) // peer → owners to pull from it
	for owner, ps := range d.syncs {
		if now.Before(ps.due) {
			continue
		}
		delete(d.syncs, owner)
		// Behind: the peer has writes we lack. Diverged (same high-water mark, different
		// entries): either side may lack something; each pulls from the other.
		if c := d.st.compareDigest(ps.claim); c == digestBehind || c == digestDiverged {
			pulls[ps.peer] = append(pulls[ps.peer], owner)
		}
	}
	evs, adopted := d.eventsLocked(changes)
	d.mu.Unlock()
	d.broadcastAll(adopted)
	for _, q := range []*memberlist.TransmitLimitedQueue{d.bq, d.relayQ} {
		if q.NumQueued() > maxQueuedDeltas {
			q.Prune(maxQueuedDeltas)
		}
	}
	for peer, owners := range pulls {
		if d.cfg.sendTo != nil {
			slices.Sort(owners)
			d.stats.pulls.Add(1)
			d.cfg.sendTo(peer, "pull\x00"+peer, encodePull(&pullMsg{sender: d.self, owners: owners}))
		}
	}
	d.events.push(evs...)
}
