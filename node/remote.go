package node

import (
	"context"
	"slices"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/edgemesh/edge/gossip"
	"github.com/edgemesh/edge/relay"
	"github.com/edgemesh/edge/sfu"
)

// remoteSubscribeTimeout bounds dialing a peer and subscribing to one of its tracks.
const remoteSubscribeTimeout = 10 * time.Second

// remoteParticipant is a participant of a room connected to another edge, as the directory
// reports it. Local clients see it exactly like a local participant; its tracks reach them
// through the relay.
type remoteParticipant struct {
	nodeID string
	info   *livekit.ParticipantInfo // shared, read-only (from the directory)
	// perm is who may subscribe to its tracks (nil: everyone); shared, read-only. This edge
	// enforces it for its own subscribers, as the publisher's edge does for its.
	perm *livekit.SubscriptionPermission
}

// allows reports whether rp's subscription permission lets p receive track sid.
func (rp *remoteParticipant) allows(p *Participant, sid string) bool {
	return permits(rp.perm, p, sid)
}

func hiddenInfo(info *livekit.ParticipantInfo) bool {
	return info.GetPermission().GetHidden()
}

// onDirectoryEvent applies a directory change to the local rooms. It runs on the directory's
// dispatcher goroutine: it updates state and queues signal messages, and leaves anything that
// dials or waits to goroutines of its own.
func (n *Node) onDirectoryEvent(ev gossip.Event) {
	switch ev.Kind {
	case gossip.ParticipantUpserted:
		if e := ev.Participant; e != nil && e.NodeID != n.cfg.NodeID {
			if r := n.room(ev.Room); r != nil {
				r.upsertRemote(e)
			}
		}
	case gossip.ParticipantRemoved:
		if e := ev.Participant; e != nil && e.NodeID != n.cfg.NodeID {
			if r := n.room(ev.Room); r != nil {
				r.removeRemote(e.Info.Identity, e.NodeID)
			}
		}
	case gossip.RoomUpdated:
		if e := ev.RoomEntry; e != nil && e.Room != nil {
			if r := n.room(ev.Room); r != nil {
				r.applyRemoteMetadata(e.Room.Metadata)
			}
		}
	case gossip.Resync:
		for _, r := range n.roomList() {
			r.syncRemote()
		}
	}
}

// syncRemote makes the room's remote participants match the directory.
func (r *Room) syncRemote() {
	m := r.node.mesh
	if m == nil {
		return
	}
	seen := map[string]bool{}
	for _, e := range m.dir.Participants(r.name) {
		if e.NodeID == r.node.cfg.NodeID {
			continue
		}
		seen[e.Info.Identity] = true
		r.upsertRemote(&e)
	}
	r.mu.Lock()
	var gone []*remoteParticipant
	for id, rp := range r.remote {
		if !seen[id] {
			gone = append(gone, rp)
		}
	}
	r.mu.Unlock()
	for _, rp := range gone {
		r.removeRemote(rp.info.Identity, rp.nodeID)
	}
}

// upsertRemote records a remote participant's new state, tells the local participants, and
// subscribes them to its new tracks.
func (r *Room) upsertRemote(e *gossip.ParticipantEntry) {
	identity := e.Info.Identity
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	if local := r.participants[identity]; local != nil {
		// The same identity on two edges: the newer session wins, as on one node.
		if e.Info.JoinedAtMs <= local.joinedAt.UnixMilli() {
			r.mu.Unlock()
			return // ours is newer; the other edge removes its copy when it sees ours
		}
		delete(r.participants, identity)
		r.mu.Unlock()
		local.close(livekit.DisconnectReason_DUPLICATE_IDENTITY, true)
		r.onParticipantGone(local)
		r.mu.Lock()
	}
	old := r.remote[identity]
	if old != nil && old.nodeID == e.NodeID && old.info.Version > e.Info.Version {
		r.mu.Unlock()
		return
	}
	rp := &remoteParticipant{nodeID: e.NodeID, info: e.Info, perm: e.Permission}
	r.remote[identity] = rp
	r.mu.Unlock()
	if old != nil && !proto.Equal(old.perm, rp.perm) {
		r.applyRemotePermission(rp, old.info.Tracks)
	}

	var before []*livekit.TrackInfo
	if old != nil {
		before = old.info.Tracks
	}
	if !hiddenInfo(e.Info) {
		msg := &livekit.SignalResponse{Message: &livekit.SignalResponse_Update{
			Update: &livekit.ParticipantUpdate{Participants: []*livekit.ParticipantInfo{e.Info}}}}
		for _, p := range r.participantList() {
			p.sendSignal(msg)
		}
	}
	for _, t := range e.Info.Tracks {
		prev := findTrack(before, t.Sid)
		if prev != nil && prev.Muted != t.Muted {
			r.onTrackMuted(t.Sid, t.Muted)
		}
		if prev == nil {
			for _, p := range r.participantList() {
				p.maybeSubscribeRemote(rp, t, false)
			}
		}
	}
	for _, t := range before {
		if findTrack(e.Info.Tracks, t.Sid) == nil {
			r.closeSubscriptions(t.Sid)
		}
	}
}

// applyRemotePermission brings local subscriptions to rp's tracks (those it already had,
// before) in line with its changed subscription permission: no longer allowed ones end, newly
// allowed ones start (if the subscriber wants them).
func (r *Room) applyRemotePermission(rp *remoteParticipant, before []*livekit.TrackInfo) {
	for _, p := range r.participantList() {
		for _, t := range rp.info.Tracks {
			if findTrack(before, t.Sid) == nil {
				continue // new: subscribed below by upsertRemote, with the permission checked
			}
			p.applyPermission(rp.info.Sid, t.Sid, rp.allows(p, t.Sid), func() { p.maybeSubscribeRemote(rp, t, false) })
		}
	}
}

func findTrack(tracks []*livekit.TrackInfo, sid string) *livekit.TrackInfo {
	for _, t := range tracks {
		if t.Sid == sid {
			return t
		}
	}
	return nil
}

// removeRemote forgets a remote participant that left (or whose edge is gone).
func (r *Room) removeRemote(identity, nodeID string) {
	r.mu.Lock()
	rp := r.remote[identity]
	if rp == nil || rp.nodeID != nodeID {
		r.mu.Unlock()
		return
	}
	delete(r.remote, identity)
	r.mu.Unlock()
	for _, t := range rp.info.Tracks {
		r.closeSubscriptions(t.Sid)
	}
	if hiddenInfo(rp.info) {
		return
	}
	gone := proto.Clone(rp.info).(*livekit.ParticipantInfo)
	gone.State = livekit.ParticipantInfo_DISCONNECTED
	gone.Tracks = nil
	msg := &livekit.SignalResponse{Message: &livekit.SignalResponse_Update{
		Update: &livekit.ParticipantUpdate{Participants: []*livekit.ParticipantInfo{gone}}}}
	for _, p := range r.participantList() {
		p.sendSignal(msg)
	}
}

// closeSubscriptions ends every local down-track of a track.
func (r *Room) closeSubscriptions(trackSid string) {
	for _, p := range r.participantList() {
		p.unsubscribe(trackSid)
	}
}

// remoteList returns a snapshot of the room's remote participants.
func (r *Room) remoteList() []*remoteParticipant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*remoteParticipant, 0, len(r.remote))
	for _, rp := range r.remote {
		out = append(out, rp)
	}
	return out
}

// findRemoteTrack locates a track published on another edge.
func (r *Room) findRemoteTrack(sid string) (*remoteParticipant, *livekit.TrackInfo) {
	for _, rp := range r.remoteList() {
		if t := findTrack(rp.info.Tracks, sid); t != nil {
			return rp, t
		}
	}
	return nil, nil
}

// applyRemoteMetadata takes a room metadata change made on another edge.
func (r *Room) applyRemoteMetadata(md string) {
	r.mu.Lock()
	changed := r.metadata != md
	r.mu.Unlock()
	if changed {
		r.setMetadataLocal(md)
	}
}

// subscribeExistingRemote subscribes a newly joined participant to the tracks of remote ones.
func (p *Participant) subscribeExistingRemote() {
	for _, rp := range p.room.remoteList() {
		for _, t := range rp.info.Tracks {
			p.maybeSubscribeRemote(rp, t, false)
		}
	}
}

// maybeSubscribeRemote subscribes p to a track published on another edge: the relay brings one
// copy of it to this node however many local subscribers it has, and a down-track forwards it
// like a local track. Dialing and subscribing happen on a goroutine of their own.
func (p *Participant) maybeSubscribeRemote(rp *remoteParticipant, t *livekit.TrackInfo, explicit bool) {
	m := p.node.mesh
	if m == nil || !p.wants(t.Sid, explicit) || !p.permitted(rp.info.Sid, t.Sid, rp.allows(p, t.Sid)) {
		return
	}
	if !p.node.goAdd() {
		return
	}
	go func() {
		defer p.node.wg.Done()
		rt := p.pullWithRetry(m, rp, t.Sid)
		if rt == nil {
			return
		}
		p.attach(rt, trackRef{info: t, publisherSid: rp.info.Sid, publisher: rp.info.Identity}, explicit)
		if cur, _ := p.room.findRemoteTrack(t.Sid); cur == nil || !cur.allows(p, t.Sid) {
			// The permission changed (or the track went) while the copy was pulled.
			p.unsubscribe(t.Sid)
			if cur != nil {
				p.permitted(cur.info.Sid, t.Sid, false)
			}
			return
		}
		p.watchCopy(rt, t.Sid, explicit)
	}()
}

// pullRetries bounds the attempts to pull one track; the waits between them double from
// pullRetryWait (an upstream hub may not have learned of the track from gossip yet).
const (
	pullRetries   = 6
	pullRetryWait = 250 * time.Millisecond
)

// pullWithRetry gets the relay copy of a remote track, retrying while the track is still
// published and p still here; nil when it gives up.
func (p *Participant) pullWithRetry(m *mesh, rp *remoteParticipant, sid string) *relay.RemoteTrack {
	wait := pullRetryWait
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), remoteSubscribeTimeout)
		rt, err := m.pull(ctx, sid, rp.nodeID)
		cancel()
		if err == nil {
			return rt
		}
		if attempt == pullRetries {
			p.log.Warn().Err(err).Str("track", sid).Str("node", rp.nodeID).Int("attempts", attempt).Msg("relay subscribe failed")
			return nil
		}
		p.log.Debug().Err(err).Str("track", sid).Int("attempt", attempt).Msg("relay subscribe failed, retrying")
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-m.stop:
			t.Stop()
			return nil
		}
		wait *= 2
		if _, ti := p.room.findRemoteTrack(sid); ti == nil || p.isClosed() {
			return nil
		}
	}
}

// watchCopy pulls a track again when its relay copy ends while the track is still published
// and p still wants it (an upstream edge died, a link broke): along a route around the failure.
func (p *Participant) watchCopy(rt *relay.RemoteTrack, sid string, explicit bool) {
	select {
	case <-rt.Done():
	case <-p.node.mesh.stop:
		return
	}
	t := time.NewTimer(resubscribeDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.node.mesh.stop:
		return
	}
	if rp, ti := p.room.findRemoteTrack(sid); ti != nil && !p.isClosed() {
		p.maybeSubscribeRemote(rp, ti, explicit)
	}
}

// wants reports whether p should be subscribed to track sid now.
func (p *Participant) wants(sid string, explicit bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed && p.subs[sid] == nil && p.grants.Video.GetCanSubscribe() &&
		(explicit || (p.autoSubscribe && !p.unsubscribed[sid]))
}

// trackRef describes the published track a down-track forwards.
type trackRef struct {
	info         *livekit.TrackInfo // a snapshot; read-only
	publisherSid string
	publisher    string // identity
}

// attach creates a down-track from src for p and adds it to p's subscriber connection.
func (p *Participant) attach(src sfu.TrackSource, ref trackRef, explicit bool) {
	sid := ref.info.Sid
	if !p.wants(sid, explicit) {
		return
	}
	p.mu.Lock()
	sub := p.subscriber
	p.mu.Unlock()
	if sub == nil {
		return
	}
	dt, err := sfu.NewDownTrack(sfu.DownTrackParams{
		Source:       src,
		SubscriberID: p.sid,
		StreamID:     ref.publisherSid + "|" + sid,
		MaxLayer:     sfu.MaxLayerAuto,
		Counters:     p.node.counters,
		Logger:       p.log.With().Str("track", sid).Str("publisher", ref.publisher).Logger(),
		Batcher:      sub.sendBatcher(),
		Writers:      sub.streamWriters(),
		Reports:      p.node.reports,
	})
	if err != nil { // e.g. the source closed meanwhile
		p.log.Debug().Err(err).Str("track", sid).Msg("create down-track")
		return
	}
	sender, err := sub.pc.AddTrack(dt)
	if err != nil {
		dt.Close()
		p.log.Warn().Err(err).Str("track", sid).Msg("add down-track to peer connection")
		return
	}
	s := &subscription{trackSid: sid, publisherSid: ref.publisherSid, publisher: ref.publisher, info: ref.info,
		downTrack: dt, sender: sender}
	p.mu.Lock()
	if p.closed || p.subs[sid] != nil {
		p.mu.Unlock()
		dt.Close()
		_ = sub.pc.RemoveTrack(sender)
		return
	}
	p.subs[sid] = s
	p.mu.Unlock()
	dt.SetRTPSender(sender)
	if ref.info.Muted {
		dt.SetPaused(true)
	}
	p.node.alloc.trackAddedInfo(p, ref.info, s)
	dt.OnClose(func() { p.onDownTrackClosed(s) })
	p.node.metrics.tracksSubscribed.Inc()
	p.log.Debug().Str("track", sid).Str("publisher", ref.publisher).Msg("subscribed")
	p.renegotiate(sub)
}

// remoteNodes returns the edges other than this one hosting participants of the room among
// dests (all when dests is empty).
func (r *Room) remoteNodes(dests []string) []string {
	var out []string
	for _, rp := range r.remoteList() {
		if len(dests) > 0 && !slices.Contains(dests, rp.info.Identity) {
			continue
		}
		if !slices.Contains(out, rp.nodeID) {
			out = append(out, rp.nodeID)
		}
	}
	return out
}
