package node

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/stretchr/testify/require"
)

func TestAdminMeshPage(t *testing.T) {
	n, err := New(DevConfig(), testLogger(t))
	require.NoError(t, err)
	routes := n.routes()

	list := mintToken(t, DevAPIKey, DevAPISecret, time.Hour, "ops", &auth.VideoGrant{RoomList: true})
	admin := mintToken(t, DevAPIKey, DevAPISecret, time.Hour, "ops", &auth.VideoGrant{RoomAdmin: true})
	join := mintToken(t, DevAPIKey, DevAPISecret, time.Hour, "a", &auth.VideoGrant{RoomJoin: true, Room: "r"})
	forged := mintToken(t, DevAPIKey, "not-the-secret", time.Hour, "ops", &auth.VideoGrant{RoomList: true})
	const (
		pageMark  = `id="graph"`
		loginMark = `<form class="card login"`
	)
	cases := []struct {
		name   string
		method string
		query  string
		status int
		mark   string // must be in the body
		reason string // the refusal shown on the form, if any
	}{
		{"no token: the sign-in form", http.MethodGet, "", http.StatusOK, loginMark, ""},
		{"empty token: the sign-in form", http.MethodGet, "?token=", http.StatusOK, loginMark, ""},
		{"roomList token: the page", http.MethodGet, "?token=" + list, http.StatusOK, pageMark, ""},
		{"roomAdmin token: the page", http.MethodGet, "?token=" + admin, http.StatusOK, pageMark, ""},
		{"join-only token: refused", http.MethodGet, "?token=" + join, http.StatusUnauthorized, loginMark,
			"Token refused: " + ErrPermissionDenied.Error()},
		{"forged token: refused", http.MethodGet, "?token=" + forged, http.StatusUnauthorized, loginMark,
			"Token refused: " + ErrInvalidToken.Error()},
		{"garbage token: refused", http.MethodGet, "?token=" + url.QueryEscape("<b>no</b>"), http.StatusUnauthorized,
			loginMark, "Token refused: " + ErrInvalidToken.Error()},
		{"HEAD: headers only", http.MethodHead, "?token=" + list, http.StatusOK, "", ""},
		{"POST: not allowed", http.MethodPost, "?token=" + list, http.StatusMethodNotAllowed, "GET only", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			routes.ServeHTTP(rec, httptest.NewRequest(tc.method, "/admin/mesh"+tc.query, nil))
			res := rec.Result()
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			require.Equal(t, tc.status, res.StatusCode, "body %s", body)
			require.True(t, strings.Contains(string(body), tc.mark), "body has %q", tc.mark)
			if tc.reason != "" {
				require.True(t, strings.Contains(string(body), tc.reason), "body has %q", tc.reason)
			} else {
				require.False(t, strings.Contains(string(body), "Token refused"), "no refusal shown")
			}
			if tc.method == http.MethodHead {
				require.Empty(t, body)
			}
			if res.StatusCode == http.StatusMethodNotAllowed {
				require.Equal(t, "GET, HEAD", res.Header.Get("Allow"))
				return
			}
			require.False(t, strings.Contains(string(body), "<b>no</b>"), "the form escapes what it shows")
			h := res.Header
			require.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
			require.True(t, strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'none'"),
				"CSP %q", h.Get("Content-Security-Policy"))
			require.Equal(t, "no-store", h.Get("Cache-Control"))
			require.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
			require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			require.Equal(t, "DENY", h.Get("X-Frame-Options"))
			if tc.mark == pageMark || tc.method == http.MethodHead {
				// The page's embedded script and style are served inline, allowed by hash.
				require.Contains(t, h.Get("Content-Security-Policy"), "script-src 'sha256-")
				require.Contains(t, h.Get("Content-Security-Policy"), "style-src 'sha256-")
			}
			if tc.mark == pageMark {
				for _, inline := range []string{"function buildModel(doc)", "fetch('topology'", ".graph-wrap {"} {
					require.True(t, strings.Contains(string(body), inline), "the page inlines %q", inline)
				}
			}
		})
	}
}
