package node

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
)

// forwardedHeader marks a RoomService call one edge forwarded to another: the receiving edge
// acts on its own participants only and never forwards it again.
const forwardedHeader = "X-Edge-Forwarded"

type forwardedKey struct{}

func isForwarded(ctx context.Context) bool {
	v, _ := ctx.Value(forwardedKey{}).(bool)
	return v
}

// meshDir returns the directory, unless the node is standalone or the call was forwarded to
// it (then only local state counts).
func (s *roomService) meshDir(ctx context.Context) *mesh {
	if isForwarded(ctx) {
		return nil
	}
	return s.n.mesh
}

// httpURL turns a signaling URL (ws/wss) into the node's HTTP base URL.
func httpURL(signal string) string {
	switch {
	case strings.HasPrefix(signal, "wss://"):
		return "https://" + strings.TrimPrefix(signal, "wss://")
	case strings.HasPrefix(signal, "ws://"):
		return "http://" + strings.TrimPrefix(signal, "ws://")
	}
	return signal
}

// serviceToken mints a short-lived admin token for a call this node forwards to another edge.
// Every edge of a mesh is configured with the same API keys.
func (n *Node) serviceToken(room string) (string, error) {
	keys := n.cfg.SortedKeyIDs()
	if len(keys) == 0 {
		return "", ErrUnknownAPIKey
	}
	return auth.NewAccessToken(keys[0], n.cfg.Keys[keys[0]]).SetIdentity("edge:" + n.cfg.NodeID).
		SetValidFor(time.Minute).
		SetVideoGrant(&auth.VideoGrant{RoomAdmin: true, RoomCreate: true, RoomList: true, Room: room}).ToJWT()
}

// forwardTo returns a RoomService client for the edge nodeID and a context carrying the
// credentials and the forwarded mark.
func (s *roomService) forwardTo(ctx context.Context, nodeID, room string) (context.Context, livekit.RoomService, error) {
	m := s.n.mesh
	info, ok := m.cluster.Node(nodeID)
	if !ok || info.Meta.SignalURL == "" {
		return nil, nil, twirp.NewError(twirp.Unavailable, "edge "+nodeID+" is not reachable")
	}
	tok, err := s.n.serviceToken(room)
	if err != nil {
		return nil, nil, twirp.InternalErrorWith(err)
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+tok)
	h.Set(forwardedHeader, "1")
	fctx, err := twirp.WithHTTPRequestHeaders(ctx, h)
	if err != nil {
		return nil, nil, twirp.InternalErrorWith(err)
	}
	client := livekit.NewRoomServiceProtobufClient(httpURL(info.Meta.SignalURL), s.n.httpClient,
		twirp.WithClientPathPrefix("/twirp"))
	return fctx, client, nil
}

// owner finds the edge a participant is connected to: "" for this node.
func (s *roomService) owner(ctx context.Context, room, identity string) (string, error) {
	if r := s.n.room(room); r != nil && r.participant(identity) != nil {
		return "", nil
	}
	if m := s.meshDir(ctx); m != nil {
		if e, ok := m.dir.Participant(room, identity); ok {
			if e.NodeID == s.n.cfg.NodeID {
				return "", nil
			}
			return e.NodeID, nil
		}
	}
	return "", toTwirp(ErrParticipantGone)
}

// onOwner checks the roomAdmin grant and, when the participant is connected to another edge,
// makes the call there (done is then true). Otherwise the caller acts locally.
func onOwner[Req, Res any](s *roomService, ctx context.Context, room, identity string, req Req,
	call func(livekit.RoomService, context.Context, Req) (Res, error)) (res Res, done bool, err error) {
	if err := requireAdmin(ctx, room); err != nil {
		return res, true, err
	}
	owner, err := s.owner(ctx, room, identity)
	if err != nil || owner == "" {
		return res, err != nil, err
	}
	fctx, c, err := s.forwardTo(ctx, owner, room)
	if err != nil {
		return res, true, err
	}
	res, err = call(c, fctx, req)
	return res, true, err
}
