package node

import (
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"

	"github.com/edgemesh/edge/sfu"
)

// subscription is one down-track of this participant: a track of another participant
// forwarded to it over its subscriber peer connection.
type subscription struct {
	trackSid     string
	publisherSid string
	publisher    string             // identity
	info         *livekit.TrackInfo // the published track when subscribed; read-only
	downTrack    *sfu.DownTrack
	sender       *webrtc.RTPSender
}

// newSubscriberTransport creates the peer connection the server sends media on, with the
// server-side data channels the client receives data on.
func (p *Participant) newSubscriberTransport() (*pcTransport, error) {
	t, err := p.node.newSendingTransport(roleSubscriber, livekit.SignalTarget_SUBSCRIBER, p.log, p.sendSignal)
	if err != nil {
		return nil, err
	}
	ordered := true
	reliable, err := t.pc.CreateDataChannel(reliableLabel, &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		t.close()
		return nil, err
	}
	t.setDataChannel(reliable)
	p.serveSubscriberChannel(reliable)
	unordered, zero := false, uint16(0)
	lossy, err := t.pc.CreateDataChannel(lossyLabel, &webrtc.DataChannelInit{Ordered: &unordered, MaxRetransmits: &zero})
	if err != nil {
		t.close()
		return nil, err
	}
	t.setDataChannel(lossy)
	p.serveSubscriberChannel(lossy)
	return t, nil
}

// onTrackPublished offers a newly published track to everyone else.
func (r *Room) onTrackPublished(pub *Participant, pt *publishedTrack) {
	for _, o := range r.others(pub) {
		o.maybeSubscribe(pub, pt, false)
	}
}

// onTrackMuted pauses or resumes every down-track of a track.
func (r *Room) onTrackMuted(trackSid string, muted bool) {
	for _, p := range r.participantList() {
		p.mu.Lock()
		s := p.subs[trackSid]
		p.mu.Unlock()
		if s != nil {
			s.downTrack.SetPaused(muted)
		}
	}
}

// subscribeExisting subscribes a newly joined participant to every track already published.
func (p *Participant) subscribeExisting() {
	for _, o := range p.room.others(p) {
		for _, pt := range o.publishedList() {
			p.maybeSubscribe(o, pt, false)
		}
	}
}

// allows reports whether pub's subscription permissions let p receive track sid.
func (pub *Participant) allows(p *Participant, sid string) bool {
	pub.mu.Lock()
	perm := pub.subPerm
	pub.mu.Unlock()
	return permits(perm, p, sid)
}

// applyPermission brings p's subscription to track sid of publisher pubSid in line with a
// changed permission: ended (and the client told) when no longer allowed, started with
// subscribe when newly allowed.
func (p *Participant) applyPermission(pubSid, sid string, allowed bool, subscribe func()) {
	p.mu.Lock()
	subscribed := p.subs[sid] != nil
	p.mu.Unlock()
	switch {
	case subscribed && !allowed:
		p.unsubscribe(sid)
		p.permitted(pubSid, sid, false)
	case !subscribed && allowed:
		subscribe()
	}
}

// permitted tells the client whether it may subscribe to track sid of publisher pubSid when
// that changes (SubscriptionPermissionUpdate: a refusal, and the permission that follows one),
// and returns allowed. Only a client that wants the track is told.
func (p *Participant) permitted(pubSid, sid string, allowed bool) bool {
	p.mu.Lock()
	change := p.denied[sid] == allowed // told "denied" before and allowed now, or the reverse
	if allowed {
		delete(p.denied, sid)
	} else {
		p.denied[sid] = true
	}
	p.mu.Unlock()
	if change {
		p.sendSignal(&livekit.SignalResponse{Message: &livekit.SignalResponse_SubscriptionPermissionUpdate{
			SubscriptionPermissionUpdate: &livekit.SubscriptionPermissionUpdate{
				ParticipantSid: pubSid, TrackSid: sid, Allowed: allowed}}})
	}
	return allowed
}

// permits reports whether a publisher's subscription permission perm (nil: everyone) lets p
// receive track sid.
func permits(perm *livekit.SubscriptionPermission, p *Participant, sid string) bool {
	if perm == nil || perm.AllParticipants {
		return true
	}
	for _, tp := range perm.TrackPermissions {
		if tp.ParticipantSid != p.sid && tp.ParticipantIdentity != p.identity {
			continue
		}
		if tp.AllTracks || slices.Contains(tp.TrackSids, sid) {
			return true
		}
	}
	return false
}

// maybeSubscribe creates a down-track for pt unless p does not want or may not have it.
// explicit marks a subscription the client asked for (auto-subscribe off).
func (p *Participant) maybeSubscribe(pub *Participant, pt *publishedTrack, explicit bool) {
	sid := pt.info.Sid
	if !p.wants(sid, explicit) {
		return
	}
	if !p.permitted(pub.sid, sid, pub.allows(p, sid)) {
		return
	}
	pub.mu.Lock()
	info := proto.Clone(pt.info).(*livekit.TrackInfo)
	pub.mu.Unlock()
	p.attach(pt.receiver, trackRef{info: info, publisherSid: pub.sid, publisher: pub.identity}, explicit)
}

// onDownTrackClosed removes a finished down-track from the subscriber connection.
func (p *Participant) onDownTrackClosed(s *subscription) {
	p.mu.Lock()
	if p.subs[s.trackSid] != s {
		p.mu.Unlock()
		return
	}
	delete(p.subs, s.trackSid)
	closed := p.closed
	sub := p.subscriber
	p.mu.Unlock()
	p.node.alloc.trackRemoved(p, s)
	p.node.metrics.tracksSubscribed.Dec()
	if closed {
		return
	}
	if err := sub.pc.RemoveTrack(s.sender); err != nil {
		p.log.Debug().Err(err).Msg("remove down-track")
	}
	p.renegotiate(sub)
}

// unsubscribe drops the down-track of sid, if any.
func (p *Participant) unsubscribe(sid string) {
	p.mu.Lock()
	s := p.subs[sid]
	p.mu.Unlock()
	if s != nil {
		s.downTrack.Close()
	}
}

// findPublished locates a published track in the room.
func (r *Room) findPublished(sid string) (*Participant, *publishedTrack) {
	for _, o := range r.participantList() {
		o.mu.Lock()
		pt := o.published[sid]
		o.mu.Unlock()
		if pt != nil {
			return o, pt
		}
	}
	return nil, nil
}

// updateSubscription applies an explicit subscribe/unsubscribe from the client.
func (p *Participant) updateSubscription(u *livekit.UpdateSubscription) {
	sids := slices.Clone(u.TrackSids)
	for _, pt := range u.ParticipantTracks {
		sids = append(sids, pt.TrackSids...)
	}
	for _, sid := range sids {
		p.mu.Lock()
		p.unsubscribed[sid] = !u.Subscribe
		p.mu.Unlock()
		if !u.Subscribe {
			p.unsubscribe(sid)
			continue
		}
		if pub, pt := p.room.findPublished(sid); pt != nil && pub != p {
			p.maybeSubscribe(pub, pt, true)
		} else if rp, t := p.room.findRemoteTrack(sid); t != nil {
			p.maybeSubscribeRemote(rp, t, true)
		}
	}
}

// updateTrackSettings applies a subscriber's quality/size/disabled choice for its down-tracks.
func (p *Participant) updateTrackSettings(u *livekit.UpdateTrackSettings) {
	for _, sid := range u.TrackSids {
		p.mu.Lock()
		s := p.subs[sid]
		p.mu.Unlock()
		if s == nil {
			continue
		}
		s.downTrack.SetPaused(u.Disabled)
		if u.Disabled {
			continue
		}
		_, pt := p.room.findPublished(sid)
		s.downTrack.SetMaxLayer(maxLayerFor(u, pt))
	}
}

// maxLayerFor turns requested quality or dimensions into a simulcast layer cap.
func maxLayerFor(u *livekit.UpdateTrackSettings, pt *publishedTrack) int32 {
	if u.Width == 0 && u.Height == 0 {
		switch u.Quality {
		case livekit.VideoQuality_LOW:
			return 0
		case livekit.VideoQuality_MEDIUM:
			return 1
		}
		return 2
	}
	if pt == nil || len(pt.info.Layers) == 0 {
		return 2
	}
	// The smallest layer at least as large as requested; the largest if none is.
	best := int32(-1)
	for _, l := range pt.info.Layers {
		if l.Width >= u.Width && l.Height >= u.Height {
			q := int32(l.Quality)
			if best < 0 || q < best {
				best = q
			}
		}
	}
	if best < 0 {
		return 2
	}
	return best
}

// setSubscriptionPermission stores who may subscribe to this participant's tracks and drops
// existing subscriptions that are no longer allowed.
func (p *Participant) setSubscriptionPermission(perm *livekit.SubscriptionPermission) {
	p.mu.Lock()
	p.subPerm = perm
	mine := make([]string, 0, len(p.published))
	for sid := range p.published {
		mine = append(mine, sid)
	}
	p.mu.Unlock()
	// Other edges enforce it for their subscribers.
	p.node.mesh.publishParticipant(p)
	for _, o := range p.room.others(p) {
		for _, sid := range mine {
			o.applyPermission(p.sid, sid, p.allows(o, sid), func() {
				if _, pt := p.room.findPublished(sid); pt != nil {
					o.maybeSubscribe(p, pt, false)
				}
			})
		}
	}
}

// renegotiate offers the subscriber connection's new state; a connection that is closing is
// not worth a warning.
func (p *Participant) renegotiate(sub *pcTransport) {
	if err := sub.negotiate(false); err != nil {
		if sub.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
			p.log.Debug().Err(err).Msg("renegotiate closed subscriber")
			return
		}
		p.log.Warn().Err(err).Msg("renegotiate subscriber")
	}
}
