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

// clusterKey is a valid production cluster key (base64 of 32 zero bytes).
const clusterKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

func TestMeshConfigPrecedence(t *testing.T) {
	type want struct {
		gossipPort, relayPort int
		join                  []string
		clusterKey, signalURL string
		standalone            bool
	}
	defaults := want{gossipPort: 7946, relayPort: 7883}
	tests := []struct {
		name string
		file string // YAML; "" = no --config
		env  map[string]string
		args []string
		want want
	}{
		{name: "defaults", want: defaults},
		{
			name: "--dev brings the dev cluster key",
			args: []string{"--dev"},
			want: want{gossipPort: 7946, relayPort: 7883, clusterKey: node.DevClusterKey},
		},
		{
			name: "file over --dev",
			file: "cluster_key: " + clusterKey + "\ngossip_port: 0\n",
			args: []string{"--dev"},
			want: want{gossipPort: 0, relayPort: 7883, clusterKey: clusterKey},
		},
		{
			name: "file over defaults",
			file: "gossip_port: 8946\nrelay_port: 8883\njoin: [a:1, b:2]\ncluster_key: " + clusterKey +
				"\nsignal_url: wss://f.example\nstandalone: true\n",
			want: want{gossipPort: 8946, relayPort: 8883, join: []string{"a:1", "b:2"}, clusterKey: clusterKey, signalURL: "wss://f.example", standalone: true},
		},
		{
			name: "env over file",
			file: "gossip_port: 8946\nrelay_port: 8883\njoin: [a:1, b:2]\ncluster_key: file\nsignal_url: wss://f.example\n",
			env: map[string]string{
				"EDGE_GOSSIP_PORT": "9946", "EDGE_RELAY_PORT": "9883", "EDGE_JOIN": "c:3",
				"EDGE_CLUSTER_KEY": clusterKey, "EDGE_SIGNAL_URL": "wss://e.example", "EDGE_STANDALONE": "true",
			},
			want: want{gossipPort: 9946, relayPort: 9883, join: []string{"c:3"}, clusterKey: clusterKey, signalURL: "wss://e.example", standalone: true},
		},
		{
			name: "flags over env",
			env: map[string]string{
				"EDGE_GOSSIP_PORT": "9946", "EDGE_RELAY_PORT": "9883", "EDGE_JOIN": "c:3",
				"EDGE_CLUSTER_KEY": "env", "EDGE_SIGNAL_URL": "wss://e.example", "EDGE_STANDALONE": "true",
			},
			args: []string{
				"--gossip-port", "0", "--relay-port", "0", "--join", "d:4,e:5", "--cluster-key", clusterKey,
				"--signal-url", "ws://g.example:7880", "--standalone=false",
			},
			want: want{join: []string{"d:4", "e:5"}, clusterKey: clusterKey, signalURL: "ws://g.example:7880"},
		},
		{
			name: "--join is repeatable",
			args: []string{"--join", "a:1", "--join", "b:2,c:3"},
			want: want{gossipPort: 7946, relayPort: 7883, join: []string{"a:1", "b:2", "c:3"}},
		},
		{
			name: `--join "" clears the file's seeds`,
			file: "join: [a:1]\n",
			args: []string{"--join", ""},
			want: defaults,
		},
		{
			name: "flag defaults do not override the file",
			file: "gossip_port: 8946\nrelay_port: 8883\nstandalone: true\n",
			args: []string{"--region", "eu"},
			want: want{gossipPort: 8946, relayPort: 8883, standalone: true},
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
				gossipPort: c.GossipPort, relayPort: c.RelayPort, join: c.Join,
				clusterKey: c.ClusterKey, signalURL: c.SignalURL, standalone: c.Standalone,
			}
			if len(got.join) == 0 {
				got.join = nil
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMeshConfigValidation(t *testing.T) {
	keys := "--keys=k:" + prodSecret
	tests := []struct {
		name string
		file string
		env  map[string]string
		args []string
		err  string // "" = valid
	}{
		{name: "production with a cluster key", args: []string{keys, "--cluster-key", clusterKey}},
		{name: "production without a cluster key", args: []string{keys}, err: "cluster_key is not set"},
		{name: "standalone needs no cluster key", args: []string{keys, "--standalone"}},
		{name: "dev needs no cluster key", args: []string{"--dev"}},
		{name: "dev key refused outside dev (flag)", args: []string{keys, "--cluster-key", node.DevClusterKey}, err: "public dev cluster key"},
		{name: "dev key refused outside dev (env)", args: []string{keys}, env: map[string]string{"EDGE_CLUSTER_KEY": node.DevClusterKey}, err: "public dev cluster key"},
		{
			name: "dev key from the file refused once --dev=false",
			file: "dev: true\ncluster_key: " + node.DevClusterKey + "\n",
			args: []string{keys, "--dev=false"},
			err:  "public dev cluster key",
		},
		{name: "dev key accepted with EDGE_DEV", env: map[string]string{"EDGE_DEV": "1", "EDGE_CLUSTER_KEY": node.DevClusterKey}},
		{name: "relay port clash", args: []string{"--dev", "--relay-port", "7882"}, err: "relay_port and rtc_udp_port are both UDP port 7882"},
		{name: "bad signal url", args: []string{"--dev", "--signal-url", "http://x"}, err: "scheme must be ws or wss"},
		{name: "join with standalone", args: []string{"--dev", "--standalone", "--join", "a:1"}, err: "standalone node joins no cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, "edge.yaml", tt.file)}, args...)
			}
			c, err := loadFor(t, args, tt.env)
			require.NoError(t, err)
			err = c.Validate()
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, node.ErrInvalidConfig)
			require.ErrorContains(t, err, tt.err)
		})
	}
}

func TestMeshConfigLoadErrors(t *testing.T) {
	_, err := loadFor(t, []string{"--join", "a:1", "--join", "nope"}, nil)
	require.ErrorIs(t, err, errUsage)
	require.ErrorIs(t, err, node.ErrInvalidJoin)
	require.ErrorContains(t, err, `--join: invalid join addresses: "nope" is not host:port`)

	_, err = loadFor(t, nil, map[string]string{"EDGE_JOIN": "a:b"})
	require.ErrorIs(t, err, node.ErrInvalidEnv)
	require.ErrorIs(t, err, node.ErrInvalidJoin)

	_, err = loadFor(t, nil, map[string]string{"EDGE_STANDALONE": "perhaps"})
	require.ErrorIs(t, err, node.ErrInvalidEnv)

	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addConfigFlags(fs, allConfigFlags)
	require.ErrorIs(t, parseFlags(fs, []string{"--gossip-port", "x"}), errUsage)
}

func TestTokenFlagsHaveNoMeshFlags(t *testing.T) {
	for _, name := range []string{"gossip-port", "join", "cluster-key", "relay-port", "signal-url", "standalone"} {
		fs := flag.NewFlagSet("token", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		addConfigFlags(fs, keyFlagsOnly)
		require.Nil(t, fs.Lookup(name), "edge token must not take --%s", name)

		fs = flag.NewFlagSet("serve", flag.ContinueOnError)
		addConfigFlags(fs, allConfigFlags)
		require.NotNil(t, fs.Lookup(name), "edge serve must take --%s", name)
	}
}
