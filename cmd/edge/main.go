// Command edge runs and operates an edge node: `edge serve` runs one node, `edge token` mints
// access tokens for it, `edge version` prints the build.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/edgemesh/edge/node"
)

const usage = `edge: an edge relay mesh SFU that speaks LiveKit's signaling protocol.

Usage:
  edge serve    [flags]  run an edge node (edge serve -h for flags)
  edge token    [flags]  print an access token (edge token -h for flags)
  edge topology [flags]  show the mesh: nodes, links, rooms, relay trees (edge topology -h)
  edge drain    [flags]  drain an edge: its clients move to other edges (edge drain -h)
  edge version           print the version

Quick start:
  edge serve --dev
  edge token --dev --room demo --identity alice
`

// app holds what a command run needs from its environment, so that tests can run commands
// in-process without touching os.Args, os.Exit, the real environment or signals.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// stopContext returns a context that is canceled when the process is asked to stop
	// (SIGINT/SIGTERM in production).
	stopContext func(parent context.Context) (context.Context, context.CancelFunc)
	// started, if not nil, is called by serve once the node listens (tests).
	started func(n *node.Node)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args (without the program name) and returns the exit code:
// 0 success, 1 failure, 2 usage error.
func run(args []string, stdout, stderr io.Writer) int {
	a := &app{
		stdout: stdout,
		stderr: stderr,
		getenv: os.Getenv,
		stopContext: func(parent context.Context) (context.Context, context.CancelFunc) {
			return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
		},
	}
	return a.run(args)
}

func (a *app) run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return a.serve(rest)
	case "token":
		return a.token(rest)
	case "topology":
		return a.topology(rest)
	case "drain":
		return a.drain(rest)
	case "version", "--version", "-version":
		fmt.Fprintln(a.stdout, versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(a.stdout, usage)
		return 0
	default:
		fmt.Fprintf(a.stderr, "edge: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// versionString is "edge <version> (<vcs revision>, <go version>)"; the revision is omitted when
// the binary was built outside version control.
func versionString() string {
	s := "edge " + node.Version
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return s
	}
	rev, dirty := "", ""
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.modified":
			if kv.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		return fmt.Sprintf("%s (%s%s, %s)", s, rev, dirty, bi.GoVersion)
	}
	return fmt.Sprintf("%s (%s)", s, bi.GoVersion)
}
