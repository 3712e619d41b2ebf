package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/node"
)

// loadFor parses args as `edge serve` flags and loads the Config with env as the environment.
func loadFor(t *testing.T, args []string, env map[string]string) (node.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cf := addConfigFlags(fs, allConfigFlags)
	require.NoError(t, parseFlags(fs, args))
	return cf.load(func(k string) string { return env[k] })
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

const prodSecret = "0123456789abcdef0123456789abcdef"

func TestConfigPrecedence(t *testing.T) {
	type want struct {
		dev              bool
		bind, logFormat  string
		port, rtcUDP     int
		keys             map[string]string
		region, logLevel string
	}
	devKeys := map[string]string{"devkey": "secret"}
	tests := []struct {
		name string
		file string // YAML; "" = no --config
		env  map[string]string
		args []string
		want want
	}{
		{
			name: "defaults",
			want: want{bind: "0.0.0.0", logFormat: "json", logLevel: "info", port: 7880, rtcUDP: 7882},
		},
		{
			name: "--dev over defaults",
			args: []string{"--dev"},
			want: want{dev: true, bind: "127.0.0.1", logFormat: "console", logLevel: "debug", port: 7880, rtcUDP: 7882, keys: devKeys},
		},
		{
			name: "file over --dev",
			file: "bind: 127.0.0.2\nport: 8000\nlog_format: json\n",
			args: []string{"--dev"},
			want: want{dev: true, bind: "127.0.0.2", logFormat: "json", logLevel: "debug", port: 8000, rtcUDP: 7882, keys: devKeys},
		},
		{
			name: "dev: true in the file brings dev defaults underneath the file",
			file: "dev: true\nregion: eu\n",
			want: want{dev: true, bind: "127.0.0.1", logFormat: "console", logLevel: "debug", port: 7880, rtcUDP: 7882, keys: devKeys, region: "eu"},
		},
		{
			name: "EDGE_DEV brings dev defaults",
			env:  map[string]string{"EDGE_DEV": "true"},
			want: want{dev: true, bind: "127.0.0.1", logFormat: "console", logLevel: "debug", port: 7880, rtcUDP: 7882, keys: devKeys},
		},
		{
			name: "--dev=false beats dev: true in the file",
			file: "dev: true\n",
			args: []string{"--dev=false"},
			want: want{bind: "0.0.0.0", logFormat: "json", logLevel: "info", port: 7880, rtcUDP: 7882},
		},
		{
			name: "env over file",
			file: "port: 8000\nregion: eu\nkeys:\n  filekey: " + prodSecret + "\n",
			env:  map[string]string{"EDGE_PORT": "9000", "EDGE_KEYS": "envkey:" + prodSecret},
			want: want{bind: "0.0.0.0", logFormat: "json", logLevel: "info", port: 9000, rtcUDP: 7882, region: "eu", keys: map[string]string{"envkey": prodSecret}},
		},
		{
			name: "flags over env",
			file: "port: 8000\nrtc_udp_port: 8002\n",
			env:  map[string]string{"EDGE_PORT": "9000", "EDGE_LOG_FORMAT": "json", "EDGE_REGION": "us", "EDGE_KEYS": "envkey:x"},
			args: []string{"--port", "9100", "--log-format", "console", "--region", "ap", "--keys", "flagkey:y"},
			want: want{bind: "0.0.0.0", logFormat: "console", logLevel: "info", port: 9100, rtcUDP: 8002, region: "ap", keys: map[string]string{"flagkey": "y"}},
		},
		{
			name: "flag defaults do not override the file",
			file: "port: 8000\n",
			args: []string{"--region", "eu"},
			want: want{bind: "0.0.0.0", logFormat: "json", logLevel: "info", port: 8000, rtcUDP: 7882, region: "eu"},
		},
		{
			name: "--dev with --bind of another local address",
			args: []string{"--dev", "--bind", "::1", "--rtc-udp-port", "0", "--log-level", "warn"},
			want: want{dev: true, bind: "::1", logFormat: "console", logLevel: "warn", port: 7880, rtcUDP: 0, keys: devKeys},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, "edge.yaml", tt.file)}, args...)
			}
			c, err := loadFor(t, args, tt.env)
			require.NoError(t, err)
			got := want{
				dev: c.Dev, bind: c.Bind, logFormat: c.LogFormat, port: c.Port, rtcUDP: c.RTCUDPPort,
				keys: c.Keys, region: c.Region, logLevel: c.LogLevel,
			}
			if len(got.keys) == 0 {
				got.keys = nil
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestConfigLoadErrors(t *testing.T) {
	_, err := loadFor(t, []string{"--config", writeFile(t, "bad.yaml", "nope: 1\n")}, nil)
	require.ErrorIs(t, err, node.ErrConfigFile)

	_, err = loadFor(t, nil, map[string]string{"EDGE_PORT": "x"})
	require.ErrorIs(t, err, node.ErrInvalidEnv)

	_, err = loadFor(t, []string{"--keys", "nocolon"}, nil)
	require.ErrorIs(t, err, node.ErrInvalidKeys)
	require.ErrorIs(t, err, errUsage)
}

func TestParseFlagsRejectsArguments(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addConfigFlags(fs, allConfigFlags)
	err := parseFlags(fs, []string{"--dev", "extra"})
	require.ErrorIs(t, err, errUsage)
	require.ErrorIs(t, err, errReported)
}
