package node

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"
)

// keyProvider resolves API keys to secrets.
type keyProvider map[string]string

// tokenFromRequest returns the access token of an HTTP request: the access_token query parameter
// (JS SDK) or an "Authorization: Bearer" header (Go SDK, RoomService clients).
func tokenFromRequest(r *http.Request) string {
	if t := r.URL.Query().Get("access_token"); t != "" {
		return t
	}
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// verify checks a raw token's signature, issuer and expiry and returns its grants.
func (k keyProvider) verify(raw string) (*auth.ClaimGrants, error) {
	if raw == "" {
		return nil, ErrNoToken
	}
	v, err := auth.ParseAPIToken(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	secret, ok := k[v.APIKey()]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAPIKey, v.APIKey())
	}
	_, grants, err := v.Verify(secret)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, ErrTokenExpired
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return grants, nil
}

// verifyJoin additionally checks the grants needed to join a room.
func (k keyProvider) verifyJoin(raw string) (*auth.ClaimGrants, error) {
	g, err := k.verify(raw)
	if err != nil {
		return nil, err
	}
	if g.Video == nil || !g.Video.RoomJoin {
		return nil, ErrNoRoomJoin
	}
	if g.Video.Room == "" {
		return nil, ErrNoRoom
	}
	if g.Identity == "" {
		return nil, ErrNoIdentity
	}
	return g, nil
}

// httpStatus maps node errors to HTTP status codes.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, ErrNoToken), errors.Is(err, ErrInvalidToken), errors.Is(err, ErrTokenExpired),
		errors.Is(err, ErrUnknownAPIKey), errors.Is(err, ErrNoRoomJoin), errors.Is(err, ErrNoRoom),
		errors.Is(err, ErrNoIdentity), errors.Is(err, ErrPermissionDenied):
		return http.StatusUnauthorized
	case errors.Is(err, ErrRoomNotFound), errors.Is(err, ErrParticipantGone), errors.Is(err, ErrTrackNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrNodeClosed), errors.Is(err, ErrDraining):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
