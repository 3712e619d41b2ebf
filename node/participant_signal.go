package node

import (
	"fmt"
	"time"

	"github.com/livekit/protocol/livekit"
	protosignalling "github.com/livekit/protocol/signalling"
)

// handleSignal applies one client request. Unknown request types are ignored (newer clients send
// messages an older server does not know); errors are returned for logging and never close the
// connection by themselves.
func (p *Participant) handleSignal(sc *signalConn, req *livekit.SignalRequest) error {
	p.mu.Lock()
	current := p.sig == sc && !p.closed
	pub, sub := p.publisher, p.subscriber
	p.mu.Unlock()
	if !current {
		return nil // a superseded connection, or one left open after the participant left
	}
	switch m := req.Message.(type) {
	case *livekit.SignalRequest_Offer:
		sd, id, _ := protosignalling.FromProtoSessionDescription(m.Offer)
		if err := pub.handleOffer(sd, id); err != nil {
			return err
		}
		if pub.clientOffers {
			p.setState(livekit.ParticipantInfo_ACTIVE)
		}
		return nil
	case *livekit.SignalRequest_Answer:
		sd, _, _ := protosignalling.FromProtoSessionDescription(m.Answer)
		if err := sub.handleAnswer(sd); err != nil {
			return err
		}
		p.setState(livekit.ParticipantInfo_ACTIVE)
		return nil
	case *livekit.SignalRequest_Trickle:
		c, err := protosignalling.FromProtoTrickle(m.Trickle)
		if err != nil {
			return fmt.Errorf("%w: trickle: %v", ErrBadRequest, err)
		}
		if m.Trickle.Target == livekit.SignalTarget_SUBSCRIBER && !pub.clientOffers {
			return sub.addCandidate(c)
		}
		return pub.addCandidate(c)
	case *livekit.SignalRequest_AddTrack:
		return p.addTrack(m.AddTrack)
	case *livekit.SignalRequest_Mute:
		return p.setTrackMuted(m.Mute.Sid, m.Mute.Muted)
	case *livekit.SignalRequest_Subscription:
		p.updateSubscription(m.Subscription)
	case *livekit.SignalRequest_TrackSetting:
		p.updateTrackSettings(m.TrackSetting)
	case *livekit.SignalRequest_Leave:
		p.log.Info().Str("reason", m.Leave.Reason.String()).Msg("client leaving")
		p.room.removeParticipant(p, livekit.DisconnectReason_CLIENT_INITIATED)
	case *livekit.SignalRequest_SubscriptionPermission:
		p.setSubscriptionPermission(m.SubscriptionPermission)
	case *livekit.SignalRequest_Ping:
		sc.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Pong{Pong: m.Ping}})
	case *livekit.SignalRequest_PingReq:
		p.mu.Lock()
		p.rtt = uint32(m.PingReq.Rtt)
		p.mu.Unlock()
		sc.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_PongResp{PongResp: &livekit.Pong{
			LastPingTimestamp: m.PingReq.Timestamp, Timestamp: time.Now().UnixMilli()}}})
	case *livekit.SignalRequest_UpdateMetadata:
		p.updateMetadata(sc, m.UpdateMetadata)
	case *livekit.SignalRequest_UpdateAudioTrack:
		p.updateTrackInfo(m.UpdateAudioTrack.TrackSid, func(t *livekit.TrackInfo) {
			t.AudioFeatures = m.UpdateAudioTrack.Features
		})
	case *livekit.SignalRequest_UpdateVideoTrack:
		p.updateTrackInfo(m.UpdateVideoTrack.TrackSid, func(t *livekit.TrackInfo) {
			t.Width, t.Height = m.UpdateVideoTrack.Width, m.UpdateVideoTrack.Height
		})
	case *livekit.SignalRequest_SyncState:
		// Full state sync is for migrations between servers; a resume on the same node keeps state.
	default:
		p.log.Debug().Str("type", fmt.Sprintf("%T", req.Message)).Msg("ignoring unsupported signal request")
	}
	return nil
}

// updateMetadata applies a client's own metadata/name/attributes change if its grant allows it.
func (p *Participant) updateMetadata(sc *signalConn, u *livekit.UpdateParticipantMetadata) {
	p.mu.Lock()
	allowed := p.grants.Video.GetCanUpdateOwnMetadata()
	if allowed {
		p.applyInfoLocked(u.Name, u.Metadata, u.Attributes)
	}
	p.mu.Unlock()
	if u.RequestId != 0 {
		reason := livekit.RequestResponse_OK
		if !allowed {
			reason = livekit.RequestResponse_NOT_ALLOWED
		}
		sc.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_RequestResponse{
			RequestResponse: &livekit.RequestResponse{RequestId: u.RequestId, Reason: reason}}})
	}
	if !allowed {
		p.log.Info().Msg("metadata update refused: no canUpdateOwnMetadata grant")
		return
	}
	p.changedSelf()
}

// changedSelf bumps the version, tells the room and the participant itself.
func (p *Participant) changedSelf() {
	p.changed()
	p.sendSignal(&livekit.SignalResponse{Message: &livekit.SignalResponse_Update{
		Update: &livekit.ParticipantUpdate{Participants: []*livekit.ParticipantInfo{p.info()}}}})
}

// updateTrackInfo edits a published track's info and announces the change.
func (p *Participant) updateTrackInfo(sid string, edit func(*livekit.TrackInfo)) {
	p.mu.Lock()
	t, ok := p.published[sid]
	if ok {
		edit(t.info)
	}
	p.mu.Unlock()
	if ok {
		p.changed()
	}
}

// applyInfoLocked sets name and metadata when given and merges attributes (an empty value
// deletes the key). Callers hold p.mu.
func (p *Participant) applyInfoLocked(name, metadata string, attrs map[string]string) {
	if name != "" {
		p.name = name
	}
	if metadata != "" {
		p.metadata = metadata
	}
	for k, v := range attrs {
		if v == "" {
			delete(p.attributes, k)
		} else {
			p.attributes[k] = v
		}
	}
}
