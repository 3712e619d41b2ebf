package node

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"
	"github.com/stretchr/testify/require"
)

func mintToken(t *testing.T, key, secret string, ttl time.Duration, identity string, grant *auth.VideoGrant) string {
	t.Helper()
	at := auth.NewAccessToken(key, secret).SetIdentity(identity).SetValidFor(ttl)
	if grant != nil {
		at.SetVideoGrant(grant)
	}
	tok, err := at.ToJWT()
	require.NoError(t, err)
	return tok
}

func TestVerifyJoin(t *testing.T) {
	const secret = "a-very-long-secret-of-at-least-32-chars"
	keys := keyProvider{"key": secret}
	join := &auth.VideoGrant{RoomJoin: true, Room: "r"}
	expired := func() string {
		// Signed correctly, but expired an hour ago (well beyond the verifier's leeway).
		claims := jwt.MapClaims{
			"iss": "key", "sub": "a", "nbf": time.Now().Add(-2 * time.Hour).Unix(),
			"exp": time.Now().Add(-time.Hour).Unix(), "video": map[string]any{"roomJoin": true, "room": "r"},
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
		require.NoError(t, err)
		return tok
	}
	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", mintToken(t, "key", secret, time.Hour, "a", join), nil},
		{"no token", "", ErrNoToken},
		{"garbage", "not.a.jwt", ErrInvalidToken},
		{"bad signature", mintToken(t, "key", secret+"x", time.Hour, "a", join), ErrInvalidToken},
		{"unknown key", mintToken(t, "other", secret, time.Hour, "a", join), ErrUnknownAPIKey},
		{"expired", expired(), ErrTokenExpired},
		{"no roomJoin", mintToken(t, "key", secret, time.Hour, "a", &auth.VideoGrant{Room: "r"}), ErrNoRoomJoin},
		{"no room", mintToken(t, "key", secret, time.Hour, "a", &auth.VideoGrant{RoomJoin: true}), ErrNoRoom},
		{"no identity", mintToken(t, "key", secret, time.Hour, "", join), ErrNoIdentity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := keys.verifyJoin(tc.token)
			if tc.want == nil {
				require.NoError(t, err)
				require.Equal(t, "r", g.Video.Room)
				return
			}
			require.Error(t, err)
			require.True(t, errors.Is(err, tc.want), "got %v, want %v", err, tc.want)
			require.Equal(t, http.StatusUnauthorized, httpStatus(err))
		})
	}
}

func TestValidateEndpoint(t *testing.T) {
	cfg := DevConfig()
	n, err := New(cfg, testLogger(t))
	require.NoError(t, err)
	srv := httptest.NewServer(n.routes())
	defer srv.Close()

	good := mintToken(t, DevAPIKey, DevAPISecret, time.Hour, "a", &auth.VideoGrant{RoomJoin: true, Room: "r"})
	bad := mintToken(t, DevAPIKey, "wrong-secret", time.Hour, "a", &auth.VideoGrant{RoomJoin: true, Room: "r"})

	res, err := http.Get(srv.URL + "/rtc/validate?access_token=" + good)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	for _, tok := range []string{"", bad} {
		res, err := http.Get(srv.URL + "/rtc/validate?access_token=" + tok)
		require.NoError(t, err)
		body := make([]byte, 512)
		nb, _ := res.Body.Read(body)
		res.Body.Close()
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
		require.NotEmpty(t, string(body[:nb]), "401 must carry the reason")
	}
}
