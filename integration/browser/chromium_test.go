package browser_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is the Debian package's browser binary.
const chromiumPath = "/usr/bin/chromium"

// closeTimeout bounds the graceful close of the browser in the cleanup; after
// it the browser's context is cancelled, which kills the process.
const closeTimeout = 10 * time.Second

// maxLogBytes caps the browser output kept for failure reports; maxLineBytes
// caps one line (signaling URLs carry a token and a join request).
const (
	maxLogBytes  = 64 << 10
	maxLineBytes = 600
)

// chromiumFlags are the command-line flags of the test browser. chromedp adds
// --remote-debugging-pipe (the test speaks CDP over a pipe, so the browser
// opens no debugging port) and the user data directory.
func chromiumFlags() []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		// Keep traffic on this host: no mDNS host-candidate obfuscation (it
		// multicasts), no media-router discovery.
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns,MediaRouter,DialMediaRouteProvider"),
		// No audio device in a container: play nothing.
		chromedp.Flag("mute-audio", true),
	}
}

// lockedLog is a size-capped, goroutine-safe line buffer.
type lockedLog struct {
	mu      sync.Mutex // guards lines and size
	lines   []string
	size    int
	dropped int
}

func (l *lockedLog) add(line string) {
	if len(line) > maxLineBytes {
		line = line[:maxLineBytes] + "…"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size+len(line) > maxLogBytes {
		l.dropped++
		return
	}
	l.lines = append(l.lines, line)
	l.size += len(line)
}

// browserOutput receives the browser's stdout and stderr (from a chromedp
// goroutine) into a lockedLog, without the D-Bus errors that Chromium prints
// on every start in a container that has no D-Bus.
type browserOutput struct {
	log *lockedLog
}

// Write implements io.Writer.
func (o browserOutput) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		if strings.Contains(line, ":ERROR:dbus/") {
			continue
		}
		o.log.add(line)
	}
	return len(p), nil
}

func (l *lockedLog) snapshot() ([]string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...), l.dropped
}

// dump writes the buffered lines to the test log under a heading.
func (l *lockedLog) dump(t *testing.T, heading string) {
	t.Helper()
	lines, dropped := l.snapshot()
	t.Logf("---- %s (%d lines, %d dropped) ----\n%s", heading, len(lines), dropped, strings.Join(lines, "\n"))
}

// startChromium launches a headless Chromium with an empty profile in a test
// temporary directory and returns the context of its first tab. The browser
// is closed (and, failing that, killed through its context) in the cleanup;
// on failure its output is dumped to the test log.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	profile := t.TempDir() // removed after the browser cleanup below (LIFO)
	output := &lockedLog{}
	opts := append(chromiumFlags(),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(browserOutput{log: output}),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(func(f string, a ...any) {
		output.add("chromedp: " + fmt.Sprintf(f, a...))
	}))
	t.Cleanup(func() {
		if t.Failed() {
			output.dump(t, "chromium output")
		}
	})
	t.Cleanup(func() {
		closeCtx, cancelClose := context.WithTimeout(ctx, closeTimeout)
		defer cancelClose()
		if err := chromedp.Cancel(closeCtx); err != nil {
			t.Logf("closing chromium: %v", err)
		}
		cancel()
		cancelAlloc() // waits until the browser process has exited
		// Its helper processes (zygote, renderers) exit on their own once
		// the browser is gone; wait for that so that the profile directory
		// can be removed.
		if left := waitProcessesGone(profile, closeTimeout); len(left) > 0 {
			t.Errorf("chromium helper processes still running after %v: %v", closeTimeout, left)
		}
	})
	// The first action starts the browser; bind it to ctx, not to a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	return ctx
}

// waitProcessesGone waits up to timeout until no process has
// --user-data-dir=profile on its command line, and returns the pids of those
// still running then. The profile is a fresh temporary directory, so only the
// processes of the browser this test started match.
func waitProcessesGone(profile string, timeout time.Duration) []int {
	want := []byte("--user-data-dir=" + profile + "\x00")
	deadline := time.Now().Add(timeout)
	for {
		var left []int
		cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, path := range cmdlines {
			raw, err := os.ReadFile(path)
			if err != nil || !bytes.Contains(raw, want) {
				continue
			}
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tab is one browser tab (CDP target) with its console captured.
type tab struct {
	name    string
	ctx     context.Context
	console *lockedLog
}

// openTab opens a new tab in the browser of browserCtx. Everything the page
// writes to its console, and every uncaught exception, is kept and written to
// the test log if the test fails.
func openTab(t *testing.T, browserCtx context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx)
	tb := &tab{name: name, ctx: ctx, console: &lockedLog{}}
	t.Cleanup(func() {
		if t.Failed() {
			tb.console.dump(t, "console of tab "+name)
		}
	})
	// Subscribing creates the target, so no message is lost.
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.console.add(fmt.Sprintf("%s %s", m.Time.Format("15:04:05.000"), m))
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return tb
}

// navigate loads url in the tab and waits for the load event.
func (tb *tab) navigate(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("tab %s: navigating to %s: %v", tb.name, url, err)
	}
}

// eval evaluates a JavaScript expression in the tab, awaiting a promise
// result, and decodes the result into T. It gives up after timeout.
func eval[T any](tb *tab, timeout time.Duration, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		if len(expr) > 60 {
			expr = expr[:60] + "…"
		}
		return v, fmt.Errorf("tab %s: evaluating %s: %w", tb.name, expr, err)
	}
	return v, nil
}
