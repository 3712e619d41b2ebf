package node

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// maxJoinRequest bounds a decompressed v1 join request (it may carry an SDP offer).
const maxJoinRequest = 1 << 20

// joinParamsV1 reads the v1 ("single peer connection") join: the join_request query parameter
// is base64url of a WrappedJoinRequest whose bytes are a JoinRequest, gzip-compressed when the
// wrapper says so.
func joinParamsV1(r *http.Request, grants *auth.ClaimGrants) (joinParams, error) {
	p := joinParams{grants: grants, room: grants.Video.Room, autoSubscribe: true, singlePC: true}
	raw := r.URL.Query().Get("join_request")
	if raw == "" {
		return p, fmt.Errorf("%w: missing join_request", ErrBadRequest)
	}
	jr, err := decodeJoinRequest(raw)
	if err != nil {
		return p, err
	}
	if cs := jr.ConnectionSettings; cs != nil {
		p.autoSubscribe = cs.AutoSubscribe
	}
	if ci := jr.ClientInfo; ci != nil {
		p.sdk = ci.Sdk.String()
		p.protocol = ci.Protocol
	}
	p.attributes = jr.ParticipantAttributes
	p.metadata = jr.Metadata
	p.reconnect = jr.Reconnect
	p.sid = jr.ParticipantSid
	p.addTracks = jr.AddTrackRequests
	p.publisherOffer = jr.PublisherOffer
	return p, nil
}

func decodeJoinRequest(raw string) (*livekit.JoinRequest, error) {
	b, err := base64.URLEncoding.DecodeString(padBase64(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: join_request base64: %v", ErrBadRequest, err)
	}
	w := &livekit.WrappedJoinRequest{}
	if err := proto.Unmarshal(b, w); err != nil {
		return nil, fmt.Errorf("%w: join_request wrapper: %v", ErrBadRequest, err)
	}
	inner := w.JoinRequest
	switch w.Compression {
	case livekit.WrappedJoinRequest_NONE:
	case livekit.WrappedJoinRequest_GZIP:
		zr, err := gzip.NewReader(bytes.NewReader(inner))
		if err != nil {
			return nil, fmt.Errorf("%w: join_request gzip: %v", ErrBadRequest, err)
		}
		inner, err = io.ReadAll(io.LimitReader(zr, maxJoinRequest+1))
		if err != nil {
			return nil, fmt.Errorf("%w: join_request gzip: %v", ErrBadRequest, err)
		}
		if len(inner) > maxJoinRequest {
			return nil, fmt.Errorf("%w: join_request too large", ErrBadRequest)
		}
	default:
		return nil, fmt.Errorf("%w: join_request compression %d", ErrBadRequest, w.Compression)
	}
	jr := &livekit.JoinRequest{}
	if err := proto.Unmarshal(inner, jr); err != nil {
		return nil, fmt.Errorf("%w: join_request: %v", ErrBadRequest, err)
	}
	return jr, nil
}

// padBase64 restores the padding that URL-safe encoders often leave out.
func padBase64(s string) string {
	s = strings.TrimRight(s, "=")
	if m := len(s) % 4; m != 0 {
		s += strings.Repeat("=", 4-m)
	}
	return s
}
