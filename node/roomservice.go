package node

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/proto"
)

type grantsKey struct{}

// roomService implements LiveKit's RoomService over Twirp (protobuf and JSON) for this node.
type roomService struct{ n *Node }

func (n *Node) roomServiceHandler() livekit.TwirpServer {
	srv := livekit.NewRoomServiceServer(&roomService{n: n}, twirp.WithServerPathPrefix("/twirp"))
	return &authedTwirp{TwirpServer: srv, n: n}
}

// authedTwirp verifies the bearer token before Twirp dispatch and puts the grants in the context.
type authedTwirp struct {
	livekit.TwirpServer
	n *Node
}

func (a *authedTwirp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g, err := a.n.keys.verify(tokenFromRequest(r))
	if err != nil {
		a.n.metrics.authFailures.Inc()
		twirpError(w, twirp.NewError(twirp.Unauthenticated, err.Error()))
		return
	}
	ctx := context.WithValue(r.Context(), grantsKey{}, g)
	if r.Header.Get(forwardedHeader) != "" {
		ctx = context.WithValue(ctx, forwardedKey{}, true)
	}
	a.TwirpServer.ServeHTTP(w, r.WithContext(ctx))
}

func twirpError(w http.ResponseWriter, terr twirp.Error) {
	_ = twirp.WriteError(w, terr)
}

func grantsFrom(ctx context.Context) *auth.VideoGrant {
	g, _ := ctx.Value(grantsKey{}).(*auth.ClaimGrants)
	if g == nil || g.Video == nil {
		return &auth.VideoGrant{}
	}
	return g.Video
}

func denied(what string) error {
	return twirp.NewError(twirp.PermissionDenied, "token lacks the "+what+" grant")
}

// requireAdmin checks the roomAdmin grant for a room.
func requireAdmin(ctx context.Context, room string) error {
	v := grantsFrom(ctx)
	if !v.RoomAdmin || (v.Room != "" && v.Room != room) {
		return denied("roomAdmin")
	}
	return nil
}

func toTwirp(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrRoomNotFound), errors.Is(err, ErrParticipantGone), errors.Is(err, ErrTrackNotFound):
		return twirp.NewError(twirp.NotFound, err.Error())
	case errors.Is(err, ErrNodeClosed):
		return twirp.NewError(twirp.Unavailable, err.Error())
	case errors.Is(err, ErrBadRequest):
		return twirp.NewError(twirp.InvalidArgument, err.Error())
	}
	return twirp.InternalErrorWith(err)
}

func (s *roomService) CreateRoom(ctx context.Context, req *livekit.CreateRoomRequest) (*livekit.Room, error) {
	if !grantsFrom(ctx).RoomCreate {
		return nil, denied("roomCreate")
	}
	if req.Name == "" {
		return nil, twirp.RequiredArgumentError("name")
	}
	r, err := s.n.getOrCreateRoom(req.Name, func(r *Room) {
		if req.EmptyTimeout > 0 {
			r.emptyTimeout = time.Duration(req.EmptyTimeout) * time.Second
		}
		r.maxParticipants = req.MaxParticipants
		r.metadata = req.Metadata
	})
	if err != nil {
		return nil, toTwirp(err)
	}
	r.mu.Lock()
	empty := len(r.participants) == 0 && r.emptyTimer == nil
	if empty {
		r.emptyTimer = time.AfterFunc(r.emptyTimeout, r.closeIfEmpty)
	}
	r.mu.Unlock()
	return r.toProto(), nil
}

func (s *roomService) ListRooms(ctx context.Context, req *livekit.ListRoomsRequest) (*livekit.ListRoomsResponse, error) {
	if !grantsFrom(ctx).RoomList {
		return nil, denied("roomList")
	}
	byName := map[string]*livekit.Room{}
	if m := s.meshDir(ctx); m != nil {
		for _, e := range m.dir.Rooms() {
			byName[e.Room.Name] = proto.Clone(e.Room).(*livekit.Room)
		}
	}
	for _, r := range s.n.roomList() {
		if _, ok := byName[r.name]; !ok {
			byName[r.name] = r.toProto()
		}
	}
	res := &livekit.ListRoomsResponse{}
	for name, room := range byName {
		if len(req.Names) > 0 && !contains(req.Names, name) {
			continue
		}
		res.Rooms = append(res.Rooms, room)
	}
	slices.SortFunc(res.Rooms, func(a, b *livekit.Room) int { return strings.Compare(a.Name, b.Name) })
	return res, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (s *roomService) DeleteRoom(ctx context.Context, req *livekit.DeleteRoomRequest) (*livekit.DeleteRoomResponse, error) {
	if !grantsFrom(ctx).RoomCreate {
		return nil, denied("roomCreate")
	}
	found := false
	if r := s.n.room(req.Room); r != nil {
		r.close(livekit.DisconnectReason_ROOM_DELETED)
		found = true
	}
	if m := s.meshDir(ctx); m != nil {
		if e, ok := m.dir.Room(req.Room); ok {
			for _, id := range e.Nodes {
				if id == s.n.cfg.NodeID {
					continue
				}
				fctx, c, err := s.forwardTo(ctx, id, req.Room)
				if err == nil {
					_, err = c.DeleteRoom(fctx, req)
				}
				if err != nil {
					s.n.log.Warn().Err(err).Str("room", req.Room).Str("edge", id).Msg("forward DeleteRoom")
					continue
				}
				found = true
			}
		}
	}
	if !found {
		return nil, toTwirp(ErrRoomNotFound)
	}
	return &livekit.DeleteRoomResponse{}, nil
}

func (s *roomService) roomFor(ctx context.Context, name string) (*Room, error) {
	if err := requireAdmin(ctx, name); err != nil {
		return nil, err
	}
	r := s.n.room(name)
	if r == nil {
		return nil, toTwirp(ErrRoomNotFound)
	}
	return r, nil
}

func (s *roomService) participantFor(ctx context.Context, room, identity string) (*Participant, error) {
	r, err := s.roomFor(ctx, room)
	if err != nil {
		return nil, err
	}
	p := r.participant(identity)
	if p == nil {
		return nil, toTwirp(ErrParticipantGone)
	}
	return p, nil
}

func (s *roomService) ListParticipants(ctx context.Context, req *livekit.ListParticipantsRequest) (*livekit.ListParticipantsResponse, error) {
	if err := requireAdmin(ctx, req.Room); err != nil {
		return nil, err
	}
	res := &livekit.ListParticipantsResponse{}
	r := s.n.room(req.Room)
	if r != nil {
		for _, p := range r.participantList() {
			res.Participants = append(res.Participants, p.info())
		}
	}
	known := r != nil
	if m := s.meshDir(ctx); m != nil {
		if _, ok := m.dir.Room(req.Room); ok {
			known = true
		}
		for _, e := range m.dir.Participants(req.Room) {
			if e.NodeID != s.n.cfg.NodeID {
				res.Participants = append(res.Participants, e.Info)
				known = true
			}
		}
	}
	if !known {
		return nil, toTwirp(ErrRoomNotFound)
	}
	return res, nil
}

func (s *roomService) GetParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.ParticipantInfo, error) {
	if err := requireAdmin(ctx, req.Room); err != nil {
		return nil, err
	}
	if r := s.n.room(req.Room); r != nil {
		if p := r.participant(req.Identity); p != nil {
			return p.info(), nil
		}
	}
	if m := s.meshDir(ctx); m != nil {
		if e, ok := m.dir.Participant(req.Room, req.Identity); ok {
			return e.Info, nil
		}
	}
	return nil, toTwirp(ErrParticipantGone)
}

func (s *roomService) RemoveParticipant(ctx context.Context, req *livekit.RoomParticipantIdentity) (*livekit.RemoveParticipantResponse, error) {
	if res, done, err := onOwner(s, ctx, req.Room, req.Identity, req, livekit.RoomService.RemoveParticipant); done {
		return res, err
	}
	p, err := s.participantFor(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	p.room.removeParticipant(p, livekit.DisconnectReason_PARTICIPANT_REMOVED)
	return &livekit.RemoveParticipantResponse{}, nil
}

func (s *roomService) MutePublishedTrack(ctx context.Context, req *livekit.MuteRoomTrackRequest) (*livekit.MuteRoomTrackResponse, error) {
	if res, done, err := onOwner(s, ctx, req.Room, req.Identity, req, livekit.RoomService.MutePublishedTrack); done {
		return res, err
	}
	p, err := s.participantFor(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	if err := p.setTrackMuted(req.TrackSid, req.Muted); err != nil {
		return nil, toTwirp(err)
	}
	// Tell the publisher so its SDK stops sending and updates its UI.
	p.sendSignal(&livekit.SignalResponse{Message: &livekit.SignalResponse_Mute{
		Mute: &livekit.MuteTrackRequest{Sid: req.TrackSid, Muted: req.Muted}}})
	for _, t := range p.info().Tracks {
		if t.Sid == req.TrackSid {
			return &livekit.MuteRoomTrackResponse{Track: t}, nil
		}
	}
	return nil, toTwirp(ErrTrackNotFound)
}

func (s *roomService) UpdateParticipant(ctx context.Context, req *livekit.UpdateParticipantRequest) (*livekit.ParticipantInfo, error) {
	if res, done, err := onOwner(s, ctx, req.Room, req.Identity, req, livekit.RoomService.UpdateParticipant); done {
		return res, err
	}
	p, err := s.participantFor(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.applyInfoLocked(req.Name, req.Metadata, req.Attributes)
	if perm := req.Permission; perm != nil {
		p.grants.Video.UpdateFromPermission(perm)
	}
	p.mu.Unlock()
	p.changedSelf()
	if req.Permission != nil && !req.Permission.CanSubscribe {
		p.mu.Lock()
		var sids []string
		for sid := range p.subs {
			sids = append(sids, sid)
		}
		p.mu.Unlock()
		for _, sid := range sids {
			p.unsubscribe(sid)
		}
	}
	return p.info(), nil
}

func (s *roomService) UpdateSubscriptions(ctx context.Context, req *livekit.UpdateSubscriptionsRequest) (*livekit.UpdateSubscriptionsResponse, error) {
	if res, done, err := onOwner(s, ctx, req.Room, req.Identity, req, livekit.RoomService.UpdateSubscriptions); done {
		return res, err
	}
	p, err := s.participantFor(ctx, req.Room, req.Identity)
	if err != nil {
		return nil, err
	}
	p.updateSubscription(&livekit.UpdateSubscription{TrackSids: req.TrackSids, Subscribe: req.Subscribe,
		ParticipantTracks: req.ParticipantTracks})
	return &livekit.UpdateSubscriptionsResponse{}, nil
}

func (s *roomService) SendData(ctx context.Context, req *livekit.SendDataRequest) (*livekit.SendDataResponse, error) {
	r, err := s.roomFor(ctx, req.Room)
	if err != nil {
		return nil, err
	}
	label := reliableLabel
	if req.Kind == livekit.DataPacket_LOSSY {
		label = lossyLabel
	}
	dests := req.DestinationIdentities
	pkt := &livekit.DataPacket{Kind: req.Kind, DestinationIdentities: dests, Value: &livekit.DataPacket_User{
		User: &livekit.UserPacket{Payload: req.Data, Topic: req.Topic, DestinationIdentities: dests}}}
	data, err := proto.Marshal(pkt)
	if err != nil {
		return nil, twirp.InternalErrorWith(err)
	}
	r.forwardData(nil, label, dests, data)
	r.forwardDataMesh(label, dests, data)
	return &livekit.SendDataResponse{}, nil
}

func (s *roomService) UpdateRoomMetadata(ctx context.Context, req *livekit.UpdateRoomMetadataRequest) (*livekit.Room, error) {
	if err := requireAdmin(ctx, req.Room); err != nil {
		return nil, err
	}
	if s.n.room(req.Room) == nil {
		if m := s.meshDir(ctx); m != nil {
			if e, ok := m.dir.Room(req.Room); ok && len(e.Nodes) > 0 {
				fctx, c, err := s.forwardTo(ctx, e.Nodes[0], req.Room)
				if err != nil {
					return nil, err
				}
				return c.UpdateRoomMetadata(fctx, req)
			}
		}
	}
	r, err := s.roomFor(ctx, req.Room)
	if err != nil {
		return nil, err
	}
	r.setMetadata(req.Metadata)
	return r.toProto(), nil
}

func (s *roomService) ForwardParticipant(context.Context, *livekit.ForwardParticipantRequest) (*livekit.ForwardParticipantResponse, error) {
	return nil, twirp.NewError(twirp.Unimplemented, "ForwardParticipant is a LiveKit Cloud feature that edge does not offer")
}

func (s *roomService) MoveParticipant(context.Context, *livekit.MoveParticipantRequest) (*livekit.MoveParticipantResponse, error) {
	return nil, twirp.NewError(twirp.Unimplemented, "MoveParticipant is a LiveKit Cloud feature that edge does not offer")
}

func (s *roomService) PerformRpc(context.Context, *livekit.PerformRpcRequest) (*livekit.PerformRpcResponse, error) {
	return nil, twirp.NewError(twirp.Unimplemented, "server-initiated RPC is not offered by edge yet; clients use RPC over data packets")
}
