package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/livekit/protocol/auth"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

func TestDrainCommand(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.URL.Path
		v, err := auth.ParseAPIToken(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if err == nil {
			var g *auth.ClaimGrants
			if _, g, err = v.Verify(node.DevAPISecret); err == nil && !g.Video.RoomAdmin {
				err = http.ErrNoCookie
			}
		}
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	var out, errOut bytes.Buffer
	code := run([]string{"drain", "--dev", "--url", srv.URL}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Equal(t, "POST /admin/drain", got)
	require.Equal(t, "draining\n", out.String())

	out.Reset()
	errOut.Reset()
	code = run([]string{"drain", "--url", srv.URL, "--api-key", "devkey", "--api-secret", "wrong"}, &out, &errOut)
	require.Equal(t, 1, code)
	require.Contains(t, errOut.String(), "401")
}
