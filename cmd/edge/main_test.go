package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStdout bool
	}{
		{name: "no command", args: nil, code: 2, stderr: "Usage:", noStdout: true},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`, noStdout: true},
		{name: "help", args: []string{"help"}, code: 0, stdout: "edge serve"},
		{name: "version", args: []string{"version"}, code: 0, stdout: "edge " + node.Version},
		{name: "serve -h", args: []string{"serve", "-h"}, code: 0, stderr: "-rtc-udp-port", noStdout: true},
		{name: "token -h", args: []string{"token", "-h"}, code: 0, stderr: "-identity", noStdout: true},
		{name: "serve extra argument", args: []string{"serve", "now"}, code: 2, stderr: `unexpected argument "now"`, noStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runEdge(t, nil, tt.args...)
			require.Equal(t, tt.code, code, "stderr: %s", errOut)
			if tt.stdout != "" {
				require.Contains(t, out, tt.stdout)
			}
			if tt.stderr != "" {
				require.Contains(t, errOut, tt.stderr)
			}
			if tt.noStdout {
				require.Empty(t, out)
			}
		})
	}
}

func TestVersionString(t *testing.T) {
	v := versionString()
	require.True(t, strings.HasPrefix(v, "edge "+node.Version), v)
	require.Contains(t, v, "go1.")
}
