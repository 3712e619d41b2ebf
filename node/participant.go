package node

import (
	"net/netip"
	"time"

	"sync"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	protosignalling "github.com/livekit/protocol/signalling"
	"github.com/livekit/protocol/utils/guid"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"
)

// Participant is one client connected to this node: its signal connection, its publisher and
// subscriber peer connections, what it publishes and what it subscribes to.
type Participant struct {
	node     *Node
	room     *Room
	identity string
	sid      string
	log      zerolog.Logger
	joinedAt time.Time

	autoSubscribe bool

	mu           sync.Mutex // guards every field below
	grants       *auth.ClaimGrants
	name         string
	metadata     string
	attributes   map[string]string
	state        livekit.ParticipantInfo_State
	version      uint32
	sig          *signalConn // nil while the client is reconnecting
	publisher    *pcTransport
	subscriber   *pcTransport
	pending      map[string]*livekit.TrackInfo // AddTrack requests by client track id, waiting for media
	published    map[string]*publishedTrack    // by track sid
	subs         map[string]*subscription      // by track sid
	unsubscribed map[string]bool               // tracks the client explicitly unsubscribed from
	subPerm      *livekit.SubscriptionPermission
	denied       map[string]bool // tracks the client was told it may not subscribe to
	disconnect   *time.Timer     // runs out when a dropped client does not resume
	closed       bool
	rtt          uint32
	remoteIP     netip.Addr            // the client's address at join (for nearest-edge lists)
	leave        *livekit.LeaveRequest // the leave to send on close instead of a plain disconnect
}

func newParticipant(n *Node, r *Room, p joinParams, sc *signalConn) *Participant {
	g := p.grants.Clone()
	sid := guid.New("PA_")
	attrs := map[string]string{}
	for k, v := range g.Attributes {
		attrs[k] = v
	}
	for k, v := range p.attributes {
		attrs[k] = v
	}
	metadata := g.Metadata
	if metadata == "" && p.metadata != "" && g.Video.GetCanUpdateOwnMetadata() {
		metadata = p.metadata
	}
	return &Participant{
		node:          n,
		room:          r,
		identity:      g.Identity,
		sid:           sid,
		log:           r.log.With().Str("participant", g.Identity).Str("pID", sid).Logger(),
		joinedAt:      time.Now(),
		autoSubscribe: p.autoSubscribe,
		remoteIP:      p.remoteIP,
		grants:        g,
		name:          g.Name,
		metadata:      metadata,
		attributes:    attrs,
		state:         livekit.ParticipantInfo_JOINING,
		sig:           sc, // holds responses back until start releases the join response
		version:       1,
		pending:       map[string]*livekit.TrackInfo{},
		published:     map[string]*publishedTrack{},
		subs:          map[string]*subscription{},
		unsubscribed:  map[string]bool{},
		denied:        map[string]bool{},
	}
}

func (p *Participant) hidden() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.grants.Video.Hidden
}

func (p *Participant) isPublisher() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.published) > 0
}

func (p *Participant) grantPermission() *livekit.ParticipantPermission {
	v := p.grants.Video
	return &livekit.ParticipantPermission{
		CanSubscribe:        v.GetCanSubscribe(),
		CanPublish:          v.GetCanPublish(),
		CanPublishData:      v.GetCanPublishData(),
		CanPublishSources:   v.GetCanPublishSources(),
		Hidden:              v.Hidden,
		CanUpdateMetadata:   v.GetCanUpdateOwnMetadata(),
		CanSubscribeMetrics: v.GetCanSubscribeMetrics(),
	}
}

// info is the participant's LiveKit representation (a fresh copy).
func (p *Participant) info() *livekit.ParticipantInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.infoLocked()
}

func (p *Participant) infoLocked() *livekit.ParticipantInfo {
	tracks := make([]*livekit.TrackInfo, 0, len(p.published))
	for _, t := range p.published {
		tracks = append(tracks, proto.Clone(t.info).(*livekit.TrackInfo))
	}
	attrs := make(map[string]string, len(p.attributes))
	for k, v := range p.attributes {
		attrs[k] = v
	}
	return &livekit.ParticipantInfo{
		Sid:         p.sid,
		Identity:    p.identity,
		State:       p.state,
		Tracks:      tracks,
		Metadata:    p.metadata,
		JoinedAt:    p.joinedAt.Unix(),
		JoinedAtMs:  p.joinedAt.UnixMilli(),
		Name:        p.name,
		Version:     p.version,
		Permission:  p.grantPermission(),
		Region:      p.node.cfg.Region,
		IsPublisher: len(p.published) > 0,
		Kind:        p.grants.GetParticipantKind(),
		Attributes:  attrs,
	}
}

// changed bumps the version and tells the room; call without p.mu held.
func (p *Participant) changed() {
	p.mu.Lock()
	p.version++
	closed := p.closed
	p.mu.Unlock()
	p.room.broadcastParticipant(p)
	if !closed {
		p.node.mesh.publishParticipant(p)
	}
}

// sendSignal queues a response to the client; it is dropped while the client is reconnecting.
func (p *Participant) sendSignal(msg *livekit.SignalResponse) {
	p.mu.Lock()
	sig := p.sig
	p.mu.Unlock()
	if sig != nil {
		sig.send(msg)
	}
}

// setState moves the participant along JOINING → JOINED → ACTIVE → DISCONNECTED.
func (p *Participant) setState(s livekit.ParticipantInfo_State) {
	p.mu.Lock()
	if p.state >= s {
		p.mu.Unlock()
		return
	}
	p.state = s
	p.mu.Unlock()
	p.log.Debug().Str("state", s.String()).Msg("participant state")
	p.changed()
}

// join admits a new participant or resumes a reconnecting one.
func (n *Node) join(jp joinParams, sc *signalConn) (*Participant, error) {
	for attempt := 0; attempt < 2; attempt++ {
		room, err := n.getOrCreateRoom(jp.room, nil)
		if err != nil {
			return nil, err
		}
		if jp.reconnect {
			if p := room.participant(jp.grants.Identity); p != nil && (jp.sid == "" || jp.sid == p.sid) {
				if err := p.resume(sc); err == nil {
					return p, nil
				}
			}
			// Nothing to resume: ask the client for a full reconnect.
			sc.release(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{
				CanReconnect: true, Reason: livekit.DisconnectReason_STATE_MISMATCH,
				Action: livekit.LeaveRequest_RECONNECT}}})
			sc.flushAndClose("cannot resume")
			return nil, ErrParticipantGone
		}
		p := newParticipant(n, room, jp, sc)
		if err := room.addParticipant(p); err != nil {
			if err == errRoomClosed {
				continue
			}
			return nil, err
		}
		if err := p.start(sc, jp); err != nil {
			room.removeParticipant(p, livekit.DisconnectReason_JOIN_FAILURE)
			return nil, err
		}
		return p, nil
	}
	return nil, errRoomClosed
}

// start sends the join response, creates the peer connection(s) and subscribes to what is there.
func (p *Participant) start(sc *signalConn, jp joinParams) error {
	pub, err := p.newPublisherTransport(jp.singlePC)
	if err != nil {
		return err
	}
	sub := pub
	if !jp.singlePC {
		if sub, err = p.newSubscriberTransport(); err != nil {
			pub.close()
			return err
		}
	}
	p.mu.Lock()
	if p.closed {
		// Removed while its connections were being made (the room or the node closed): close
		// would not have seen them.
		p.mu.Unlock()
		pub.close()
		if sub != pub {
			sub.close()
		}
		return ErrParticipantGone
	}
	p.publisher, p.subscriber = pub, sub
	p.state = livekit.ParticipantInfo_JOINED
	p.mu.Unlock()
	p.node.alloc.start(p)

	n := p.node
	sc.release(&livekit.SignalResponse{Message: &livekit.SignalResponse_Join{Join: &livekit.JoinResponse{
		Room:              p.room.toProto(),
		Participant:       p.info(),
		OtherParticipants: p.room.visibleInfos(p),
		ServerVersion:     Version,
		ServerRegion:      n.cfg.Region,
		ServerInfo:        n.serverInfo(),
		IceServers:        []*livekit.ICEServer{},
		SubscriberPrimary: !jp.singlePC,
		ClientConfiguration: &livekit.ClientConfiguration{
			ResumeConnection: livekit.ClientConfigSetting_ENABLED,
		},
		PingTimeout:  int32(n.cfg.PingTimeout / time.Second),
		PingInterval: int32(n.cfg.PingInterval / time.Second),
	}}})
	p.room.broadcastParticipant(p)
	p.node.mesh.publishParticipant(p)
	p.log.Info().Str("sdk", jp.sdk).Bool("singlePC", jp.singlePC).Msg("participant joined")

	for _, req := range jp.addTracks {
		if err := p.addTrack(req); err != nil {
			p.log.Info().Err(err).Msg("track in join request refused")
		}
	}
	if jp.publisherOffer != nil {
		sd, id, _ := protosignalling.FromProtoSessionDescription(jp.publisherOffer)
		if err := pub.handleOffer(sd, id); err != nil {
			return err
		}
		p.setState(livekit.ParticipantInfo_ACTIVE)
	}
	if !jp.singlePC {
		if err := sub.negotiate(false); err != nil {
			return err
		}
	}
	p.subscribeExisting()
	p.subscribeExistingRemote()
	return nil
}

// resume attaches a new signal connection to a participant whose WebSocket dropped.
func (p *Participant) resume(sc *signalConn) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrParticipantGone
	}
	old := p.sig
	p.sig = sc
	if p.disconnect != nil {
		p.disconnect.Stop()
		p.disconnect = nil
	}
	sub := p.subscriber
	p.mu.Unlock()
	if old != nil {
		old.closeWith(1000, "resumed elsewhere")
	}
	sc.release(&livekit.SignalResponse{Message: &livekit.SignalResponse_Reconnect{Reconnect: &livekit.ReconnectResponse{
		IceServers:          []*livekit.ICEServer{},
		ClientConfiguration: &livekit.ClientConfiguration{ResumeConnection: livekit.ClientConfigSetting_ENABLED},
		ServerInfo:          p.node.serverInfo(),
	}}})
	p.log.Info().Msg("participant resumed")
	if sub.clientOffers {
		return nil // one peer connection: the client restarts ICE with its next offer
	}
	// The client restarts ICE on its publisher with a new offer; we restart the subscriber.
	return sub.negotiate(true)
}

// onSignalClosed runs when a signal connection ends. If it was the current one and the client
// did not leave, the participant waits ReconnectWindow for a resume before it is removed.
func (p *Participant) onSignalClosed(sc *signalConn) {
	p.mu.Lock()
	if p.sig != sc || p.closed {
		p.mu.Unlock()
		return
	}
	p.sig = nil
	window := p.node.cfg.ReconnectWindow
	p.disconnect = time.AfterFunc(window, func() {
		p.log.Info().Dur("window", window).Msg("participant did not resume")
		p.room.removeParticipant(p, livekit.DisconnectReason_SIGNAL_CLOSE)
	})
	p.mu.Unlock()
	p.log.Info().Msg("signal connection lost, waiting for resume")
}

// leaveLinger bounds how long a left client's signal connection stays open for the client to
// close it (see signalConn.lingerClose).
const leaveLinger = 2 * time.Second

// close ends the participant: it leaves (told so if sendLeave), its tracks are unpublished and
// its peer connections closed. Idempotent.
func (p *Participant) close(reason livekit.DisconnectReason, sendLeave bool) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.state = livekit.ParticipantInfo_DISCONNECTED
	p.version++
	if p.disconnect != nil {
		p.disconnect.Stop()
	}
	sig := p.sig
	published := make([]*publishedTrack, 0, len(p.published))
	for _, t := range p.published {
		published = append(published, t)
	}
	subs := make([]*subscription, 0, len(p.subs))
	for _, s := range p.subs {
		subs = append(subs, s)
	}
	pub, sub := p.publisher, p.subscriber
	override := p.leave
	p.mu.Unlock()
	p.node.alloc.stop(p)

	if sig != nil && sendLeave {
		leave := &livekit.LeaveRequest{Reason: reason, Action: livekit.LeaveRequest_DISCONNECT}
		if override != nil {
			leave = override
		}
		sig.send(&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: leave}})
		if p.node.goAdd() {
			go func() { defer p.node.wg.Done(); sig.flushAndClose("leave") }()
		} else {
			sig.flushAndClose("leave")
		}
	} else if sig != nil {
		if reason == livekit.DisconnectReason_CLIENT_INITIATED && p.node.goAdd() {
			// The client left and closes the connection itself (see lingerClose).
			go func() { defer p.node.wg.Done(); sig.lingerClose(leaveLinger, p.node.stopping, "leave") }()
		} else {
			sig.closeWith(1000, "leave")
		}
	}
	for _, s := range subs {
		s.downTrack.Close()
	}
	for _, t := range published {
		t.receiver.Close()
	}
	if pub != nil {
		pub.close()
	}
	if sub != nil {
		sub.close()
	}
	p.log.Info().Str("reason", reason.String()).Msg("participant left")
}

func (p *Participant) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}
