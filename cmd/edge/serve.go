package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/node"
)

// serve runs `edge serve`: one edge node until SIGINT/SIGTERM, then a graceful shutdown bounded
// by the config's shutdown grace.
func (a *app) serve(args []string) int {
	fs := flag.NewFlagSet("edge serve", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	cf := addConfigFlags(fs, allConfigFlags)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: edge serve [flags]\n\n"+
			"Runs one edge node. Settings come from, lowest first: defaults, --dev defaults,\n"+
			"the --config file, EDGE_* environment variables, flags.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return exitCode(a.stderr, "serve", a.runServe(fs, cf, args))
}

func (a *app) runServe(fs *flag.FlagSet, cf *configFlags, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load(a.getenv)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	base, err := newLogger(a.stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	// node.New adds the node field to the logger it is given; the command's own lines add it here.
	log := base.With().Str("node", cfg.NodeID).Logger()
	for _, w := range cfg.Warnings() {
		log.Warn().Msg(w)
	}

	n, err := node.New(cfg, base)
	if err != nil {
		return err
	}
	ctx, stop := a.stopContext(context.Background())
	defer stop()
	if err := n.Start(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fmt.Fprintln(a.stdout, banner(cfg, n.URL()))
	if a.started != nil {
		a.started(n)
	}

	<-ctx.Done()
	stop() // a second signal now terminates the process at once
	log.Info().Str("grace", cfg.ShutdownGrace.String()).Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// banner is the one line printed once the node listens.
func banner(cfg node.Config, url string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "edge %s node %s", node.Version, cfg.NodeID)
	if cfg.Region != "" {
		fmt.Fprintf(&b, " (region %s)", cfg.Region)
	}
	fmt.Fprintf(&b, " listening on %s, ICE/UDP port %s, ICE/TCP port %s",
		url, portText(cfg.RTCUDPPort), portText(cfg.RTCTCPPort))
	if cfg.Dev {
		fmt.Fprintf(&b, "; dev API key %q secret %q", node.DevAPIKey, cfg.Keys[node.DevAPIKey])
	}
	return b.String()
}

func portText(p int) string {
	if p == 0 {
		return "ephemeral"
	}
	return fmt.Sprint(p)
}

// newLogger builds the process logger: JSON lines, or human-readable console lines (coloured
// only when w is a terminal), at the given level, with timestamps. It is safe for concurrent use
// when w is (an *os.File is).
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("log level: %w", err)
	}
	out := w
	switch format {
	case "json":
	case "console":
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w)}
	default:
		return zerolog.Logger{}, fmt.Errorf("unknown log format %q", format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
