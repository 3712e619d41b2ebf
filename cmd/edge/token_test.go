package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/stretchr/testify/require"
)

// runEdge runs the command line in-process with env as the environment and returns the exit code,
// stdout and stderr.
func runEdge(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	code := a.run(args)
	return code, stdout.String(), stderr.String()
}

// verifyToken checks that out is one token line signed by key/secret and returns its grants.
func verifyToken(t *testing.T, out, key, secret string) (*auth.ClaimGrants, time.Time) {
	t.Helper()
	require.True(t, strings.HasSuffix(out, "\n"), "token must end with a newline")
	raw := strings.TrimSuffix(out, "\n")
	require.NotContains(t, raw, "\n", "stdout must hold only the token")
	v, err := auth.ParseAPIToken(raw)
	require.NoError(t, err)
	require.Equal(t, key, v.APIKey())
	_, err = func() (any, error) { _, _, err := v.Verify("wrong-secret"); return nil, err }()
	require.Error(t, err, "a wrong secret must not verify")
	claims, grants, err := v.Verify(secret)
	require.NoError(t, err)
	return grants, claims.ExpiresAt.Time
}

func TestTokenDev(t *testing.T) {
	code, out, errOut := runEdge(t, nil, "token", "--dev", "--room", "demo", "--identity", "alice",
		"--name", "Alice", "--metadata", `{"a":1}`)
	require.Equal(t, 0, code, errOut)
	require.Empty(t, errOut, "the dev key pair needs no warning")
	grants, exp := verifyToken(t, out, "devkey", "secret")
	require.Equal(t, "alice", grants.Identity)
	require.Equal(t, "Alice", grants.Name)
	require.Equal(t, `{"a":1}`, grants.Metadata)
	require.NotNil(t, grants.Video)
	require.True(t, grants.Video.RoomJoin)
	require.Equal(t, "demo", grants.Video.Room)
	require.True(t, grants.Video.GetCanPublish())
	require.True(t, grants.Video.GetCanSubscribe())
	require.True(t, grants.Video.GetCanPublishData())
	require.False(t, grants.Video.RoomAdmin)
	require.False(t, grants.Video.RoomCreate)
	require.WithinDuration(t, time.Now().Add(time.Hour), exp, time.Minute)
}

func TestTokenGrants(t *testing.T) {
	code, out, errOut := runEdge(t, nil, "token", "--dev", "--room", "r", "--identity", "bob",
		"--no-publish", "--no-subscribe", "--no-data", "--admin", "--ttl", "10m")
	require.Equal(t, 0, code, errOut)
	grants, exp := verifyToken(t, out, "devkey", "secret")
	require.False(t, grants.Video.GetCanPublish())
	require.False(t, grants.Video.GetCanSubscribe())
	require.False(t, grants.Video.GetCanPublishData())
	require.True(t, grants.Video.RoomAdmin)
	require.True(t, grants.Video.RoomCreate)
	require.True(t, grants.Video.RoomList)
	require.WithinDuration(t, time.Now().Add(10*time.Minute), exp, time.Minute)
}

func TestTokenKeyChoice(t *testing.T) {
	keys := "zeta:" + prodSecret + "z,alpha:" + prodSecret + "a"

	code, out, errOut := runEdge(t, nil, "token", "--keys", keys, "--room", "r", "--identity", "i")
	require.Equal(t, 0, code, errOut)
	verifyToken(t, out, "alpha", prodSecret+"a")

	code, out, errOut = runEdge(t, nil, "token", "--keys", keys, "--api-key", "zeta", "--room", "r", "--identity", "i")
	require.Equal(t, 0, code, errOut)
	verifyToken(t, out, "zeta", prodSecret+"z")

	code, out, errOut = runEdge(t, map[string]string{"EDGE_KEYS": "envkey:" + prodSecret}, "token", "--room", "r", "--identity", "i")
	require.Equal(t, 0, code, errOut)
	verifyToken(t, out, "envkey", prodSecret)

	path := writeFile(t, "edge.yaml", "keys:\n  filekey: "+prodSecret+"\n")
	code, out, errOut = runEdge(t, nil, "token", "--config", path, "--room", "r", "--identity", "i")
	require.Equal(t, 0, code, errOut)
	verifyToken(t, out, "filekey", prodSecret)
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"no room", nil, []string{"--dev", "--identity", "i"}, 2, "--room is required"},
		{"no identity", nil, []string{"--dev", "--room", "r"}, 2, "--identity is required"},
		{"bad ttl", nil, []string{"--dev", "--room", "r", "--identity", "i", "--ttl", "0s"}, 2, "--ttl must be positive"},
		{"unknown flag", nil, []string{"--dev", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"no keys", nil, []string{"--room", "r", "--identity", "i"}, 1, "no API keys configured"},
		{"unknown api key", nil, []string{"--dev", "--api-key", "nope", "--room", "r", "--identity", "i"}, 1, `API key "nope" is not configured`},
		{"bad keys flag", nil, []string{"--keys", "k", "--room", "r", "--identity", "i"}, 2, "--keys"},
		{"bad env", map[string]string{"EDGE_KEYS": "k:"}, []string{"--room", "r", "--identity", "i"}, 1, "EDGE_KEYS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEdge(t, tt.env, append([]string{"token"}, tt.args...)...)
			require.Equal(t, tt.code, code)
			require.Empty(t, out)
			require.Contains(t, errOut, tt.msg)
		})
	}
}

func TestTokenShortSecretWarns(t *testing.T) {
	code, out, errOut := runEdge(t, nil, "token", "--keys", "k:short", "--room", "r", "--identity", "i")
	require.Equal(t, 0, code, errOut)
	verifyToken(t, out, "k", "short")
	require.Contains(t, errOut, "warning:")
}
