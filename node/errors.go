package node

import "errors"

// Sentinel errors. Auth errors are reported to clients as HTTP 401 with the reason in the body,
// the way LiveKit's server does; the others map to the status codes in httpStatus.
var (
	ErrNoToken          = errors.New("no access token")
	ErrInvalidToken     = errors.New("invalid access token")
	ErrTokenExpired     = errors.New("access token expired")
	ErrUnknownAPIKey    = errors.New("unknown API key")
	ErrNoRoomJoin       = errors.New("token has no roomJoin grant")
	ErrNoRoom           = errors.New("token names no room")
	ErrNoIdentity       = errors.New("token has no identity")
	ErrPermissionDenied = errors.New("permission denied")
	ErrRoomNotFound     = errors.New("room not found")
	ErrParticipantGone  = errors.New("participant not found")
	ErrTrackNotFound    = errors.New("track not found")
	ErrNodeClosed       = errors.New("node is shutting down")
	ErrBadRequest       = errors.New("bad request")
)
