package integration

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// TestAuth: the node refuses joins with missing, forged, expired or insufficient tokens the way
// LiveKit does (HTTP 401 on /rtc, which the SDK reports as "unauthorized: <reason>", and 401
// with the reason in the body on /rtc/validate), admits a good token, and enforces the
// canPublish and canSubscribe grants.
func TestAuth(t *testing.T) {
	n := startNode(t)
	const room = "auth"
	httpc := &http.Client{Timeout: 10 * time.Second}
	t.Cleanup(httpc.CloseIdleConnections)

	good := mintToken(t, tokenSpec{identity: "good", grant: fullGrant(room)})
	refused := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"not a JWT", "not-a-token"},
		{"bad signature", mintToken(t, tokenSpec{key: devKey, secret: "not-the-secret", identity: "forger", grant: fullGrant(room)})},
		{"unknown API key", mintToken(t, tokenSpec{key: "nokey", secret: devSecret, identity: "stranger", grant: fullGrant(room)})},
		{"expired", expiredToken(t, "late", fullGrant(room))},
		{"no room in grant", mintToken(t, tokenSpec{identity: "roomless", grant: withRoom(fullGrant(room), "")})},
		{"roomJoin false", mintToken(t, tokenSpec{identity: "nojoin", grant: withJoin(fullGrant(room), false)})},
		{"no video grant", mintToken(t, tokenSpec{identity: "nogrant"})},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := validate(t, httpc, n, tc.token)
			require.Equal(t, http.StatusUnauthorized, status, "/rtc/validate status (body %q)", body)
			require.NotEmpty(t, strings.TrimSpace(body), "/rtc/validate gives no reason")

			c, err := tryJoin(t, n, room, "refused", withToken(tc.token))
			if c != nil {
				c.leave(t)
			}
			require.Error(t, err, "join with %s was accepted", tc.name)
			require.True(t, strings.HasPrefix(err.Error(), "unauthorized: "),
				"SDK error %q: /rtc did not answer 401", err)
			require.Greater(t, len(err.Error()), len("unauthorized: "), "SDK error carries no reason")
		})
	}

	t.Run("good token", func(t *testing.T) {
		t.Parallel()
		status, body := validate(t, httpc, n, good)
		require.Equal(t, http.StatusOK, status, "/rtc/validate of a good token (body %q)", body)
		c := joinRoom(t, n, room, "good", withToken(good))
		require.NotEmpty(t, c.room.LocalParticipant.SID())
		require.Equal(t, room, c.room.Name())
	})

	t.Run("canPublish false", func(t *testing.T) {
		t.Parallel()
		const sub = "auth-publish"
		watcher := joinRoom(t, n, sub, "watcher")
		listener := joinRoom(t, n, sub, "listener-only", withGrant(func(g *auth.VideoGrant) {
			g.SetCanPublish(false)
		}))
		perm := listener.room.LocalParticipant.Permissions()
		require.NotNil(t, perm, "join response carries no permission")
		require.False(t, perm.CanPublish, "permission in join response allows publishing")

		tr, _ := newMicTrack(t)
		pub, err := listener.room.LocalParticipant.PublishTrack(tr, &lksdk.TrackPublicationOptions{Name: micName})
		require.Error(t, err, "publishing without canPublish succeeded (track %v)", pub)
		rp := watcher.remote(t, "listener-only")
		require.Empty(t, rp.TrackPublications(), "watcher sees a track of a participant without canPublish")
		require.Empty(t, watcher.ev.list(&watcher.ev.published), "watcher was told about a refused track")
	})

	t.Run("canSubscribe false", func(t *testing.T) {
		t.Parallel()
		const sub = "auth-subscribe"
		speaker := joinRoom(t, n, sub, "speaker")
		control := joinRoom(t, n, sub, "control")
		deaf := joinRoom(t, n, sub, "deaf", withGrant(func(g *auth.VideoGrant) { g.SetCanSubscribe(false) }))
		perm := deaf.room.LocalParticipant.Permissions()
		require.NotNil(t, perm, "join response carries no permission")
		require.False(t, perm.CanSubscribe, "permission in join response allows subscribing")

		mic := publishMic(t, speaker)
		control.subscribed(t, mic.pub.SID())
		// The deaf participant learns about the track but never receives it, not even on request.
		rp := deaf.remote(t, "speaker")
		waitFor(t, func() bool { return len(rp.TrackPublications()) == 1 },
			func() string { return "deaf never learned about speaker's track" })
		remotePub, ok := rp.TrackPublications()[0].(*lksdk.RemoteTrackPublication)
		require.True(t, ok)
		require.NoError(t, remotePub.SetSubscribed(true))
		never(t, func() bool { return len(deaf.ev.recorders()) > 0 },
			"a participant without canSubscribe got a subscribed track")
	})
}

// validate calls GET /rtc/validate?access_token=token and returns status and body.
func validate(t *testing.T, c *http.Client, n *node.Node, token string) (int, string) {
	t.Helper()
	u := n.HTTPURL() + "/rtc/validate"
	if token != "" {
		u += "?access_token=" + url.QueryEscape(token)
	}
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// expiredToken signs, with the dev key, a token that expired a minute ago (auth.AccessToken
// cannot make one).
func expiredToken(t *testing.T, identity string, grant *auth.VideoGrant) string {
	t.Helper()
	now := time.Now()
	claims := struct {
		jwt.RegisteredClaims
		auth.ClaimGrants
	}{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    devKey,
			Subject:   identity,
			IssuedAt:  jwt.NewNumericDate(now.Add(-2 * time.Hour)),
			NotBefore: jwt.NewNumericDate(now.Add(-2 * time.Hour)),
			ExpiresAt: jwt.NewNumericDate(now.Add(-time.Minute)),
		},
		ClaimGrants: auth.ClaimGrants{Identity: identity, Video: grant},
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(devSecret))
	require.NoError(t, err)
	return tok
}

func withRoom(g *auth.VideoGrant, room string) *auth.VideoGrant { g.Room = room; return g }

func withJoin(g *auth.VideoGrant, join bool) *auth.VideoGrant { g.RoomJoin = join; return g }
