package node

import (
	"fmt"
	"strings"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/edgemesh/edge/sfu"
)

// publishedTrack is a track this participant publishes: its LiveKit info and the receiver that
// forwards its media.
type publishedTrack struct {
	info     *livekit.TrackInfo
	cid      string
	receiver *sfu.Receiver
	layers   int // simulcast layers attached so far
}

// newPublisherTransport creates the peer connection the client publishes on.
func (p *Participant) newPublisherTransport(singlePC bool) (*pcTransport, error) {
	var t *pcTransport
	var err error
	if singlePC {
		// It also carries the participant's subscriptions.
		t, err = p.node.newSendingTransport(roleBoth, livekit.SignalTarget_PUBLISHER, p.log, p.sendSignal)
	} else {
		t, err = newPCTransport(p.node.apis.forRole(rolePublisher), livekit.SignalTarget_PUBLISHER, p.log, p.sendSignal)
	}
	if err != nil {
		return nil, err
	}
	t.clientOffers = singlePC
	t.pc.OnTrack(func(track *webrtc.TrackRemote, r *webrtc.RTPReceiver) { p.onTrack(t, track, r) })
	t.pc.OnDataChannel(func(dc *webrtc.DataChannel) { p.onDataChannel(t, dc) })
	t.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug().Str("state", s.String()).Msg("publisher connection state")
	})
	return t, nil
}

// addTrack handles AddTrackRequest: the client announces a track before its offer carries it.
func (p *Participant) addTrack(req *livekit.AddTrackRequest) error {
	p.mu.Lock()
	v := p.grants.Video
	allowed := v.GetCanPublish() && v.GetCanPublishSource(req.Source)
	if !allowed {
		p.mu.Unlock()
		p.log.Info().Str("cid", req.Cid).Str("source", req.Source.String()).Msg("publish refused: no permission")
		p.sendSignal(&livekit.SignalResponse{Message: &livekit.SignalResponse_RequestResponse{
			RequestResponse: &livekit.RequestResponse{Reason: livekit.RequestResponse_NOT_ALLOWED,
				Message: "participant may not publish " + req.Source.String()}}})
		return fmt.Errorf("%w: publish %s", ErrPermissionDenied, req.Source)
	}
	if ti, ok := p.pending[req.Cid]; ok {
		// A repeated request (e.g. after resume) gets the same answer.
		ti = proto.Clone(ti).(*livekit.TrackInfo)
		p.mu.Unlock()
		p.sendSignal(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackPublished{
			TrackPublished: &livekit.TrackPublishedResponse{Cid: req.Cid, Track: ti}}})
		return nil
	}
	ti := &livekit.TrackInfo{
		Sid:               guid.New("TR_"),
		Type:              req.Type,
		Name:              req.Name,
		Muted:             req.Muted,
		Width:             req.Width,
		Height:            req.Height,
		Simulcast:         len(req.Layers) > 1 || len(req.SimulcastCodecs) > 0 && len(req.Layers) > 1,
		DisableDtx:        req.DisableDtx,
		Source:            req.Source,
		Layers:            req.Layers,
		Stereo:            req.Stereo,
		DisableRed:        req.DisableRed,
		Encryption:        req.Encryption,
		Stream:            req.Stream,
		AudioFeatures:     req.AudioFeatures,
		BackupCodecPolicy: req.BackupCodecPolicy,
	}
	for _, c := range req.SimulcastCodecs {
		ti.Codecs = append(ti.Codecs, &livekit.SimulcastCodecInfo{MimeType: fullMime(req.Type, c.Codec), Cid: c.Cid, Layers: c.Layers})
	}
	p.pending[req.Cid] = ti
	ti = proto.Clone(ti).(*livekit.TrackInfo)
	p.mu.Unlock()
	p.log.Info().Str("cid", req.Cid).Str("track", ti.Sid).Str("kind", req.Type.String()).Int("layers", len(req.Layers)).
		Msg("track announced")
	p.sendSignal(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackPublished{
		TrackPublished: &livekit.TrackPublishedResponse{Cid: req.Cid, Track: ti}}})
	return nil
}

// layerForRID maps a simulcast RID to a layer (0 low .. 2 high). LiveKit SDKs use q/h/f.
func layerForRID(rid string) int32 {
	switch strings.ToLower(rid) {
	case "", "q", "0", "l", "low":
		return 0
	case "h", "1", "m", "mid", "medium":
		return 1
	default:
		return 2
	}
}

// matchPending finds the announced track a remote track belongs to: by client track id (msid),
// else the oldest announced track of the same kind.
func (p *Participant) matchPendingLocked(track *webrtc.TrackRemote) (string, *livekit.TrackInfo) {
	if ti, ok := p.pending[track.ID()]; ok {
		return track.ID(), ti
	}
	want := livekit.TrackType_AUDIO
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		want = livekit.TrackType_VIDEO
	}
	for cid, ti := range p.pending {
		if ti.Type == want {
			return cid, ti
		}
	}
	return "", nil
}

// onTrack attaches a newly arrived remote track (one per simulcast layer) to its receiver.
func (p *Participant) onTrack(t *pcTransport, track *webrtc.TrackRemote, rtpReceiver *webrtc.RTPReceiver) {
	layer := layerForRID(track.RID())
	p.mu.Lock()
	var pt *publishedTrack
	for _, cand := range p.published {
		if cand.cid == track.ID() && cand.receiver.Kind() == track.Kind() {
			pt = cand
			break
		}
	}
	isNew := false
	if pt == nil {
		cid, ti := p.matchPendingLocked(track)
		if ti == nil {
			p.mu.Unlock()
			p.log.Warn().Str("trackID", track.ID()).Str("rid", track.RID()).Msg("media for a track that was never announced")
			return
		}
		delete(p.pending, cid)
		ti.MimeType = track.Codec().MimeType
		ti.Mid = rtpReceiver.RTPTransceiver().Mid()
		pt = &publishedTrack{info: ti, cid: cid}
		pt.receiver = sfu.NewReceiver(sfu.ReceiverParams{
			TrackID:           ti.Sid,
			Kind:              track.Kind(),
			Codec:             track.Codec(),
			WriteRTCP:         func(pkts []rtcp.Packet) error { return t.pc.WriteRTCP(pkts) },
			PLIThrottle:       p.node.cfg.PLIThrottle,
			AudioLevelExtID:   audioLevelExtID(rtpReceiver),
			OnMaxLayerChanged: func(max int32) { p.onMaxLayerChanged(ti.Sid, max) },
			Counters:          p.node.counters,
			Logger:            p.log.With().Str("track", ti.Sid).Logger(),
		})
		p.published[ti.Sid] = pt
		isNew = true
	}
	pt.layers++
	sid := pt.info.Sid
	p.mu.Unlock()

	if err := pt.receiver.AddLayer(layer, track, rtpReceiver); err != nil {
		p.log.Warn().Err(err).Str("track", sid).Int32("layer", layer).Msg("attach layer")
		return
	}
	p.log.Info().Str("track", sid).Int32("layer", layer).Str("rid", track.RID()).
		Str("codec", track.Codec().MimeType).Uint32("ssrc", uint32(track.SSRC())).Msg("track layer attached")
	if !isNew {
		return
	}
	p.node.metrics.tracksPublished.Inc()
	pt.receiver.OnClose(func() { p.onTrackEnded(sid) })
	p.changed()
	p.room.onTrackPublished(p, pt)
}

func audioLevelExtID(r *webrtc.RTPReceiver) uint8 {
	for _, e := range r.GetParameters().HeaderExtensions {
		if e.URI == audioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// onTrackEnded forgets a published track whose media ended.
func (p *Participant) onTrackEnded(sid string) {
	p.mu.Lock()
	_, ok := p.published[sid]
	delete(p.published, sid)
	closed := p.closed
	p.mu.Unlock()
	if !ok {
		return
	}
	p.node.metrics.tracksPublished.Dec()
	p.log.Info().Str("track", sid).Msg("track unpublished")
	if !closed {
		p.sendSignal(&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackUnpublished{
			TrackUnpublished: &livekit.TrackUnpublishedResponse{TrackSid: sid}}})
		p.changed()
	}
}

// setTrackMuted applies a mute from the client (or from RoomService).
func (p *Participant) setTrackMuted(sid string, muted bool) error {
	p.mu.Lock()
	pt, ok := p.published[sid]
	if !ok {
		for _, ti := range p.pending {
			if ti.Sid == sid {
				ti.Muted = muted
				p.mu.Unlock()
				return nil
			}
		}
		p.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrTrackNotFound, sid)
	}
	changed := pt.info.Muted != muted
	pt.info.Muted = muted
	p.mu.Unlock()
	if !changed {
		return nil
	}
	p.log.Info().Str("track", sid).Bool("muted", muted).Msg("track mute")
	p.room.onTrackMuted(sid, muted)
	p.changed()
	return nil
}

// onMaxLayerChanged tells the publisher which simulcast layers anyone needs (dynacast), so
// unused layers are paused at the source.
func (p *Participant) onMaxLayerChanged(sid string, max int32) {
	qualities := []livekit.VideoQuality{livekit.VideoQuality_LOW, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_HIGH}
	var subs []*livekit.SubscribedQuality
	for i, q := range qualities {
		subs = append(subs, &livekit.SubscribedQuality{Quality: q, Enabled: int32(i) <= max})
	}
	p.mu.Lock()
	pt, ok := p.published[sid]
	var mime string
	if ok {
		mime = pt.info.MimeType
	}
	p.mu.Unlock()
	if !ok || !strings.HasPrefix(strings.ToLower(mime), "video/") {
		return
	}
	codec := strings.ToLower(strings.TrimPrefix(strings.ToLower(mime), "video/"))
	p.sendSignal(&livekit.SignalResponse{Message: &livekit.SignalResponse_SubscribedQualityUpdate{
		SubscribedQualityUpdate: &livekit.SubscribedQualityUpdate{
			TrackSid:            sid,
			SubscribedQualities: subs,
			SubscribedCodecs:    []*livekit.SubscribedCodec{{Codec: codec, Qualities: subs}},
		}}})
}

// audioLevel is the loudest smoothed level of the participant's unmuted audio tracks.
func (p *Participant) audioLevel() (float64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	best, any := 0.0, false
	for _, t := range p.published {
		if t.info.Type != livekit.TrackType_AUDIO || t.info.Muted {
			continue
		}
		if l, ok := t.receiver.AudioLevel(); ok && l > best {
			best, any = l, true
		}
	}
	return best, any
}

// receivers returns the participant's published receivers.
func (p *Participant) publishedList() []*publishedTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*publishedTrack, 0, len(p.published))
	for _, t := range p.published {
		out = append(out, t)
	}
	return out
}

// fullMime turns a codec name as clients announce it ("vp8") into a MIME type ("video/vp8");
// clients split TrackInfo codec MIME types on "/".
func fullMime(kind livekit.TrackType, codec string) string {
	if codec == "" || strings.Contains(codec, "/") {
		return codec
	}
	if kind == livekit.TrackType_AUDIO {
		return "audio/" + codec
	}
	return "video/" + codec
}
