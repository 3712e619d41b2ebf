package main

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/edgemesh/edge/node"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ephemeral are serve flags that make a dev node listen on loopback with ephemeral ports.
var ephemeral = []string{"--dev", "--port", "0", "--rtc-tcp-port", "0", "--rtc-udp-port", "0", "--gossip-port", "0", "--relay-port", "0"}

func TestServeStartsAndShutsDown(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var stdout, stderr syncBuffer
	var started bool
	a := &app{
		stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" },
	}
	var cancel context.CancelFunc
	a.stopContext = func(parent context.Context) (context.Context, context.CancelFunc) {
		ctx, c := context.WithCancel(parent)
		cancel = c
		return ctx, c
	}
	a.started = func(n *node.Node) {
		u, err := url.Parse(n.URL())
		require.NoError(t, err)
		ip := net.ParseIP(u.Hostname())
		require.NotNil(t, ip)
		require.True(t, ip.IsLoopback(), "dev mode must listen on loopback, got %s", u.Host)
		conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		require.NoError(t, err)
		require.NoError(t, conn.Close())
		started = true
		cancel() // what SIGINT does in production
	}

	code := a.run(append([]string{"serve", "--region", "test-region", "--node-id", "ND_servetest"}, ephemeral...))
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	require.True(t, started, "the node never reported itself started")
	require.Contains(t, stdout.String(), "node ND_servetest (region test-region) listening on ws://127.0.0.1:")
	require.Contains(t, stdout.String(), `dev API key "devkey" secret "secret"`)
	require.Contains(t, stderr.String(), "shutting down")
	require.NotContains(t, stderr.String(), "shorter than", "the dev key pair needs no warning")
	require.Contains(t, stderr.String(), "node=ND_servetest")
}

func TestServeConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"no keys outside dev", nil, []string{"--port", "0"}, 1, "no API keys configured"},
		{"dev refuses a foreign address", nil, []string{"--dev", "--bind", "192.0.2.1"}, 1, "192.0.2.1 is not an address of this host"},
		{"dev refuses all interfaces", nil, []string{"--dev", "--bind", "0.0.0.0"}, 1, "dev mode must bind a local address"},
		{"bad log level", nil, []string{"--dev", "--log-level", "loud"}, 1, `log_level "loud"`},
		{"bad env port", map[string]string{"EDGE_PORT": "x"}, []string{"--dev"}, 1, `EDGE_PORT="x"`},
		{"missing config file", nil, []string{"--config", "/nonexistent/edge.yaml"}, 1, "no such file"},
		{"bad flag value", nil, []string{"--port", "http"}, 2, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEdge(t, tt.env, append([]string{"serve"}, tt.args...)...)
			require.Equal(t, tt.code, code, "stderr: %s", errOut)
			require.Empty(t, out)
			require.Contains(t, errOut, tt.msg)
		})
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "warn", "json")
	require.NoError(t, err)
	log.Info().Msg("hidden")
	log.Warn().Str("k", "v").Msg("shown")
	require.NotContains(t, buf.String(), "hidden")
	require.Contains(t, buf.String(), `"level":"warn"`)
	require.Contains(t, buf.String(), `"k":"v"`)

	buf.Reset()
	log, err = newLogger(&buf, "debug", "console")
	require.NoError(t, err)
	log.Debug().Msg("console line")
	require.Contains(t, buf.String(), "DBG console line")
	require.NotContains(t, buf.String(), "\x1b[", "no colours when not writing to a terminal")

	_, err = newLogger(&buf, "loud", "json")
	require.Error(t, err)
	_, err = newLogger(&buf, "info", "xml")
	require.Error(t, err)
}
