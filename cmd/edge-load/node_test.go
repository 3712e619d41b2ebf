package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// fakeNodeEnv makes the test binary act as an edge node (see TestMain): "serve" serves /healthz
// and /metrics on --port until SIGTERM; "exit" exits at once with status 3.
const fakeNodeEnv = "EDGE_LOAD_FAKE_NODE"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeNodeEnv); mode != "" {
		os.Exit(fakeNode(mode, os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

func fakeNode(mode string, args []string) int {
	if mode == "exit" || len(args) == 0 || args[0] != "serve" {
		fmt.Fprintln(os.Stderr, "fake node: exiting early")
		return 3
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	port := fs.Int("port", 0, "")
	fs.Bool("dev", false, "")
	fs.String("bind", "", "")
	fs.Int("rtc-tcp-port", 0, "")
	fs.Int("rtc-udp-port", 0, "")
	fs.Bool("standalone", false, "")
	fs.String("log-level", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(sampleMetrics))
	})
	srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", *port), Handler: mux, ReadHeaderTimeout: time.Second}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() {
		<-sig
		_ = srv.Close()
	}()
	fmt.Println("fake edge listening")
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return 1
	}
	return 0
}

func TestFreePortsDistinct(t *testing.T) {
	p, err := freePorts()
	require.NoError(t, err)
	require.NotZero(t, p.http)
	require.NotZero(t, p.rtcUDP)
	require.NotEqual(t, p.http, p.rtcTCP)
}

func startFake(t *testing.T, mode string, keep string) (*nodeProcess, error) {
	t.Helper()
	t.Setenv(fakeNodeEnv, mode)
	ports, err := freePorts()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return startNode(ctx, nodeParams{kind: edgeServer(), bin: os.Args[0], ports: ports, logLevel: "info", keepLog: keep, log: zerolog.Nop()})
}

func TestNodeProcessLifecycle(t *testing.T) {
	keep := t.TempDir() + "/node.log"
	n, err := startFake(t, "serve", keep)
	require.NoError(t, err)
	require.NoError(t, n.alive())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sc, err := fetchMetrics(ctx, &http.Client{Timeout: time.Second}, n.baseURL()+"/metrics")
	require.NoError(t, err)
	out, err := sc.must("edge_packets_total", map[string]string{"direction": "out"})
	require.NoError(t, err)
	require.Equal(t, 5.5e6, out)
	_, err = procCPUTicks(n.pid())
	require.NoError(t, err)

	n.stop(5 * time.Second)
	n.stop(5 * time.Second) // idempotent
	require.ErrorIs(t, n.alive(), errNodeExited)
	require.True(t, n.cleanExit(), "SIGTERM leads to a clean exit")
	require.Contains(t, n.output.String(), "fake edge listening")
	b, err := os.ReadFile(keep)
	require.NoError(t, err)
	require.Contains(t, string(b), "fake edge listening")
}

func TestNodeProcessEarlyExit(t *testing.T) {
	_, err := startFake(t, "exit", "")
	require.ErrorIs(t, err, errNodeExited)
}

func TestTailBuffer(t *testing.T) {
	tb := newTailBuffer(8)
	_, _ = tb.Write([]byte("hello "))
	_, _ = tb.Write([]byte("world"))
	require.Equal(t, "lo world", tb.String())
	_, _ = tb.Write([]byte(strings.Repeat("x", 20)))
	require.Equal(t, "xxxxxxxx", tb.String())
}
