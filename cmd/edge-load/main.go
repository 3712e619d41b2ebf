// Command edge-load measures what one edge node spends to fan one publisher out to N
// subscribers: it starts the node as a child process on 127.0.0.1, publishes Opus and 3-layer
// VP8 simulcast from synthetic frames, joins N auto-subscribing clients in this process, and
// reports the node's CPU and memory per subscribed track. With --livekit-bin it measures the
// reference server, livekit-server, the same way instead.
//
//	go run ./cmd/edge-load --subs 50 --duration 30s [--edge-bin path | --livekit-bin path] [--keep-node-output]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	protoLogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/rs/zerolog"
)

// options are the command-line settings.
type options struct {
	subs         int
	duration     time.Duration
	warmup       time.Duration // bound on waiting for every subscriber's first packets
	settle       time.Duration // pause before the baseline RSS and before the window
	edgeBin      string
	livekitBin   string // measure the reference livekit-server at this path instead of edge
	keepOutput   bool
	nodeLogLevel string
	room         string
	apiKey       string
	apiSecret    string
	singlePC     bool
	joinParallel int
	sdkLogLevel  string // "" = the client SDK's logs are discarded
	dumpStacks   bool   // on failure, SIGQUIT the node for a goroutine dump
}

// pionDisableEnv lists pion logging scopes to silence (pion/logging reads it when a logger
// factory is created).
const pionDisableEnv = "PION_LOG_DISABLE"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "edge-load:", err)
		return 2
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly, NoColor: true}).
		With().Timestamp().Logger()
	sdkLog := protoLogger.GetDiscardLogger()
	if o.sdkLogLevel != "" {
		zl, err := protoLogger.NewZapLogger(&protoLogger.Config{Level: o.sdkLogLevel})
		if err != nil {
			fmt.Fprintln(stderr, "edge-load: --sdk-log-level:", err)
			return 2
		}
		sdkLog = zl
	}
	// The SDK's package logger also feeds pion's loggers and the tracks created before a join.
	lksdk.SetLogger(sdkLog)
	nodeEnv := os.Environ() // the node child gets the environment as it was given to us
	if o.sdkLogLevel == "" && os.Getenv(pionDisableEnv) == "" {
		// The SDK builds its TWCC interceptor with pion's default logger, which reports the
		// closed pipes of every subscriber's teardown as errors. Only this process is affected.
		_ = os.Setenv(pionDisableEnv, "twcc_sender_interceptor")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lr := loadRun{o: o, log: log, sdkLog: sdkLog, nodeEnv: nodeEnv, stdout: stdout, stderr: stderr}
	if err := lr.run(ctx); err != nil {
		log.Error().Err(err).Msg("load run failed")
		return 1
	}
	return 0
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("edge-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.subs, "subs", 50, "number of subscribers")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "measuring window")
	fs.DurationVar(&o.warmup, "warmup", 60*time.Second, "bound on waiting until every subscriber receives both tracks")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "pause before the baseline RSS sample and before the window")
	fs.StringVar(&o.edgeBin, "edge-bin", "", "edge binary to run (default: go build ./cmd/edge into a temp dir)")
	fs.StringVar(&o.livekitBin, "livekit-bin", "", "measure the reference livekit-server binary at this path instead of edge (scripts/build-reference.sh builds it)")
	fs.BoolVar(&o.keepOutput, "keep-node-output", false, "write the node's output to a log file in the temp dir and keep it")
	fs.StringVar(&o.nodeLogLevel, "node-log-level", "info", "log level passed to the node")
	fs.StringVar(&o.room, "room", "load", "room name")
	fs.StringVar(&o.apiKey, "api-key", "devkey", "API key (the node runs with --dev)")
	fs.StringVar(&o.apiSecret, "api-secret", "secret", "API secret")
	fs.BoolVar(&o.singlePC, "single-pc", false, "join with one peer connection (/rtc/v1) instead of two (/rtc)")
	fs.IntVar(&o.joinParallel, "join-parallel", 1, "subscriber joins in flight at once")
	fs.BoolVar(&o.dumpStacks, "dump-node-stacks", false, "if the run fails, stop the node with SIGQUIT so its output ends with every goroutine's stack")
	fs.StringVar(&o.sdkLogLevel, "sdk-log-level", "", "show the client SDK's logs at this level (debug|info|warn|error); default off")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case o.subs < 1:
		return o, fmt.Errorf("%w: --subs must be at least 1", errUsage)
	case o.duration < time.Second:
		return o, fmt.Errorf("%w: --duration must be at least 1s", errUsage)
	case o.edgeBin != "" && o.livekitBin != "":
		return o, fmt.Errorf("%w: --edge-bin and --livekit-bin exclude each other", errUsage)
	case o.warmup <= 0 || o.settle < 0 || o.joinParallel < 1:
		return o, fmt.Errorf("%w: --warmup, --settle and --join-parallel must be positive", errUsage)
	}
	return o, nil
}

// loadRun is one invocation's settings and outputs.
type loadRun struct {
	o              options
	log            zerolog.Logger
	sdkLog         protoLogger.Logger
	nodeEnv        []string // environment for the node child
	stdout, stderr io.Writer
}

// run performs one measurement: node, publisher, subscribers, window, report. Everything it
// starts is stopped before it returns, each step bounded in time.
func (lr loadRun) run(ctx context.Context) (err error) {
	o, log := lr.o, lr.log
	ticks := clockTicks(ctx)
	kind, bin := edgeServer(), o.edgeBin
	if o.livekitBin != "" {
		kind, bin = livekitServer(), o.livekitBin
	}
	if bin == "" {
		dir, err := os.MkdirTemp("", "edge-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		log.Info().Msg("building ./cmd/edge")
		bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		bin, err = buildEdge(bctx, dir, lr.stderr)
		cancel()
		if err != nil {
			return err
		}
	}
	ports, err := freePorts()
	if err != nil {
		return fmt.Errorf("free ports: %w", err)
	}
	np := nodeParams{kind: kind, bin: bin, ports: ports, logLevel: o.nodeLogLevel, env: lr.nodeEnv, log: log}
	if o.keepOutput {
		np.keepLog = fmt.Sprintf("%s/edge-load-node-%s.log", os.TempDir(), time.Now().Format("20060102-150405"))
	}
	node, err := startNode(ctx, np)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && o.dumpStacks {
			node.dumpStacks(15 * time.Second)
		}
		node.stop(15 * time.Second)
		if err != nil || !node.cleanExit() {
			fmt.Fprintf(lr.stderr, "---- last node output ----\n%s\n---- end of node output ----\n", node.output.String())
		}
		if np.keepLog != "" {
			log.Info().Str("file", np.keepLog).Msg("node output kept")
		}
	}()

	jp := joinParams{
		url: node.wsURL(), apiKey: o.apiKey, apiSecret: o.apiSecret, room: o.room,
		singlePC: o.singlePC, timeout: 30 * time.Second, sdkLogger: lr.sdkLog,
	}
	pub, err := startPublisher(jp, "load-publisher")
	if err != nil {
		return err
	}
	defer boundedDo(10*time.Second, pub.close, log, "publisher disconnect")

	sess := &session{o: o, log: log, node: node, ticks: ticks}
	subs := make([]*subscriber, o.subs)
	for i := range subs {
		subs[i] = newSubscriber(fmt.Sprintf("load-sub-%03d", i), log)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		closeAll(cctx, subs)
	}()
	m, err := sess.measure(ctx, jp, pub, subs)
	if err != nil {
		return err
	}
	printReport(lr.stdout, m, compute(m))
	return nil
}

// boundedDo runs f and waits at most d for it, so a stuck disconnect cannot hang the tool.
func boundedDo(d time.Duration, f func(), log zerolog.Logger, what string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		log.Warn().Str("step", what).Dur("after", d).Msg("gave up waiting")
	}
}
