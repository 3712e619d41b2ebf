package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// nodePorts are the listening ports handed to the edge child.
type nodePorts struct {
	http, rtcTCP, rtcUDP int
	metrics              int // a separate metrics listener (livekit-server); edge serves /metrics on http
}

// freePorts asks the kernel for four free ports on 127.0.0.1 (three TCP, one UDP) by listening
// on port 0 and closing again. All are held open together so they differ.
func freePorts() (nodePorts, error) {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}()
	tcp := func() (int, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		closers = append(closers, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	var p nodePorts
	var err error
	if p.http, err = tcp(); err != nil {
		return p, err
	}
	if p.rtcTCP, err = tcp(); err != nil {
		return p, err
	}
	if p.metrics, err = tcp(); err != nil {
		return p, err
	}
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return p, err
	}
	closers = append(closers, u)
	p.rtcUDP = u.LocalAddr().(*net.UDPAddr).Port
	return p, nil
}

// buildEdge compiles ./cmd/edge of the module in the working directory into dir.
func buildEdge(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	bin := filepath.Join(dir, "edge")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/edgemesh/edge/cmd/edge")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/edge: %w", err)
	}
	return bin, nil
}

// nodeProcess is the edge node running as a child process of the load tool.
//
// Concurrency: methods may be called from any goroutine; stop is idempotent.
type nodeProcess struct {
	kind    serverKind
	cmd     *exec.Cmd
	ports   nodePorts
	output  *tailBuffer
	logFile *os.File // nil unless the output is kept
	exited  chan struct{}
	waitErr error // valid after exited is closed

	stopOnce sync.Once
}

// nodeParams configure startNode.
type nodeParams struct {
	kind     serverKind
	bin      string
	ports    nodePorts
	logLevel string
	keepLog  string   // file to copy the node's output to; "" = keep only a tail in memory
	env      []string // the child's environment; nil = this process's
	log      zerolog.Logger
}

// startNode starts the server (`edge serve --dev`, or the reference) on 127.0.0.1 and waits
// (bounded by ctx) for its health check.
func startNode(ctx context.Context, p nodeParams) (*nodeProcess, error) {
	n := &nodeProcess{kind: p.kind, ports: p.ports, output: newTailBuffer(64 << 10), exited: make(chan struct{})}
	var out io.Writer = n.output
	if p.keepLog != "" {
		f, err := os.Create(p.keepLog)
		if err != nil {
			return nil, err
		}
		n.logFile = f
		out = io.MultiWriter(n.output, f)
	}
	n.cmd = exec.Command(p.bin, p.kind.args(p.ports, p.logLevel)...)
	n.cmd.Stdout, n.cmd.Stderr = out, out
	n.cmd.Env = p.env
	n.cmd.SysProcAttr = childSysProcAttr()
	if err := n.cmd.Start(); err != nil {
		n.closeLog()
		return nil, fmt.Errorf("start %s: %w", p.bin, err)
	}
	go func() {
		n.waitErr = n.cmd.Wait()
		n.closeLog()
		close(n.exited)
	}()
	p.log.Info().Int("pid", n.pid()).Int("http", p.ports.http).Int("rtc_tcp", p.ports.rtcTCP).
		Int("rtc_udp", p.ports.rtcUDP).Str("server", p.kind.name).Msg("node started")
	if err := n.waitHealthy(ctx); err != nil {
		n.stop(5 * time.Second)
		return nil, err
	}
	return n, nil
}

func (n *nodeProcess) pid() int { return n.cmd.Process.Pid }

func (n *nodeProcess) baseURL() string { return fmt.Sprintf("http://127.0.0.1:%d", n.ports.http) }

func (n *nodeProcess) metricsURL() string { return n.kind.metricsURL(n.ports) }

func (n *nodeProcess) wsURL() string { return fmt.Sprintf("ws://127.0.0.1:%d", n.ports.http) }

// alive reports an error once the child has exited.
func (n *nodeProcess) alive() error {
	select {
	case <-n.exited:
		return fmt.Errorf("%w: %v", errNodeExited, n.waitErr)
	default:
		return nil
	}
}

func (n *nodeProcess) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := n.alive(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.baseURL()+n.kind.healthPath, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", errNodeNotHealthy, ctx.Err())
		case <-n.exited:
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM to the child (by its own handle) and waits up to grace for it to exit,
// then kills it and waits a little longer. It is safe to call more than once.
func (n *nodeProcess) stop(grace time.Duration) {
	n.stopOnce.Do(func() {
		if n.alive() != nil {
			return
		}
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
			return
		case <-time.After(grace):
		}
		_ = n.cmd.Process.Kill()
		select {
		case <-n.exited:
		case <-time.After(5 * time.Second):
		}
	})
}

// dumpStacks sends SIGQUIT so the Go runtime writes every goroutine's stack to the node's
// output and exits, then waits up to grace (killing it after that). It stands in for stop when
// a run failed and the node's state is wanted for diagnosis.
func (n *nodeProcess) dumpStacks(grace time.Duration) {
	n.stopOnce.Do(func() {
		if n.alive() != nil {
			return
		}
		_ = n.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-n.exited:
			return
		case <-time.After(grace):
		}
		_ = n.cmd.Process.Kill()
		<-n.exited
	})
}

// cleanExit reports whether the child exited on its own with status 0 (after stop).
func (n *nodeProcess) cleanExit() bool {
	select {
	case <-n.exited:
		var ee *exec.ExitError
		return n.waitErr == nil || (errors.As(n.waitErr, &ee) && ee.ExitCode() == 0)
	default:
		return false
	}
}

func (n *nodeProcess) closeLog() {
	if n.logFile != nil {
		_ = n.logFile.Close()
	}
}

// tailBuffer is an io.Writer keeping the last max bytes written, for error reports.
//
// Concurrency: safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex // guards buf
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
