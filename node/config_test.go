package node

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	testSecret = "0123456789abcdef0123456789abcdef" // 32 characters
	// testClusterKey is base64 of the 32 bytes 0x00, 0x01, …, 0x1f.
	testClusterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
)

// validConfig returns a production Config that passes Validate.
func validConfig() Config {
	c := DefaultConfig()
	c.Keys = map[string]string{"key1": testSecret}
	c.ClusterKey = testClusterKey
	return c
}

// fakeInterfaceAddrs reports 10.1.2.3/24 and fe80::1/64 as this host's addresses.
func fakeInterfaceAddrs() ([]net.Addr, error) {
	return []net.Addr{
		&net.IPNet{IP: net.ParseIP("10.1.2.3"), Mask: net.CIDRMask(24, 32)},
		&net.IPNet{IP: net.ParseIP("fe80::1"), Mask: net.CIDRMask(64, 128)},
	}, nil
}

func TestConfigDefaults(t *testing.T) {
	c := DefaultConfig()
	require.True(t, strings.HasPrefix(c.NodeID, "ND_"), c.NodeID)
	require.Len(t, c.NodeID, 15)
	require.NotEqual(t, c.NodeID, DefaultConfig().NodeID, "node IDs must be random")
	require.Equal(t, "0.0.0.0", c.Bind)
	require.Equal(t, 7880, c.Port)
	require.Equal(t, 7881, c.RTCTCPPort)
	require.Equal(t, 7882, c.RTCUDPPort)
	require.Equal(t, "info", c.LogLevel)
	require.Equal(t, "json", c.LogFormat)
	require.Equal(t, 500*time.Millisecond, c.PLIThrottle)
	require.Equal(t, 5*time.Minute, c.EmptyRoomTimeout)
	require.Equal(t, 20*time.Second, c.ReconnectWindow)
	require.Equal(t, 5*time.Second, c.PingInterval)
	require.Equal(t, 15*time.Second, c.PingTimeout)
	require.Equal(t, 5*time.Second, c.ShutdownGrace)
	require.False(t, c.Dev)
	require.Equal(t, 7946, c.GossipPort)
	require.Equal(t, 7883, c.RelayPort)
	require.Empty(t, c.Join)
	require.Empty(t, c.ClusterKey)
	require.Empty(t, c.SignalURL)
	require.False(t, c.Standalone)

	err := c.validate(fakeInterfaceAddrs)
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorContains(t, err, "no API keys")
	require.ErrorIs(t, err, ErrInvalidClusterKey)
	require.ErrorContains(t, err, "cluster_key is not set")

	v := validConfig()
	require.NoError(t, v.validate(fakeInterfaceAddrs))
}

func TestConfigDev(t *testing.T) {
	c := DevConfig()
	require.True(t, c.Dev)
	require.Equal(t, map[string]string{"devkey": "secret"}, c.Keys)
	require.Equal(t, "127.0.0.1", c.Bind)
	require.Equal(t, "console", c.LogFormat)
	require.Equal(t, "debug", c.LogLevel)
	require.Equal(t, DevClusterKey, c.ClusterKey)
	require.NoError(t, c.Validate())
	require.Empty(t, c.Warnings(), "the dev key pair is short on purpose")
	c.Keys["mine"] = "short"
	require.Equal(t, []string{`secret of API key "mine" is shorter than 32 characters: only acceptable in dev mode`}, c.Warnings())
	v := validConfig()
	require.Empty(t, v.Warnings())
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		dev    bool
		mutate func(c *Config)
		want   string // substring of the error; "" = valid
	}{
		{"valid", false, func(*Config) {}, ""},
		{"ephemeral ports", false, func(c *Config) { c.Port, c.RTCTCPPort, c.RTCUDPPort = 0, 0, 0 }, ""},
		{"empty node id", false, func(c *Config) { c.NodeID = " " }, "node_id is empty"},
		{"bad bind", false, func(c *Config) { c.Bind = "localhost" }, `bind "localhost" is not an IP`},
		{"ipv6 bind", false, func(c *Config) { c.Bind = "::" }, ""},
		{"bad node ip", false, func(c *Config) { c.NodeIP = "1.2.3" }, `node_ip "1.2.3"`},
		{"unspecified node ip", false, func(c *Config) { c.NodeIP = "0.0.0.0" }, "cannot be advertised"},
		{"port too big", false, func(c *Config) { c.Port = 70000 }, "port 70000 out of range"},
		{"negative udp port", false, func(c *Config) { c.RTCUDPPort = -1 }, "rtc_udp_port -1 out of range"},
		{"tcp port clash", false, func(c *Config) { c.RTCTCPPort = c.Port }, "both TCP port 7880"},
		{"udp may share tcp number", false, func(c *Config) { c.RTCUDPPort = c.Port }, ""},
		{"no keys", false, func(c *Config) { c.Keys = nil }, "no API keys"},
		{"short secret", false, func(c *Config) { c.Keys["key1"] = "short" }, `"key1" is 5 characters; at least 32`},
		{"empty secret", false, func(c *Config) { c.Keys["k2"] = "" }, `"k2" has an empty secret`},
		{"empty key", false, func(c *Config) { c.Keys[""] = testSecret }, "empty API key"},
		{"log level", false, func(c *Config) { c.LogLevel = "verbose" }, `log_level "verbose"`},
		{"log format", false, func(c *Config) { c.LogFormat = "text" }, `log_format "text"`},
		{"pli throttle", false, func(c *Config) { c.PLIThrottle = 0 }, "pli_throttle must be positive"},
		{"empty room timeout", false, func(c *Config) { c.EmptyRoomTimeout = -1 }, "empty_room_timeout"},
		{"reconnect window zero ok", false, func(c *Config) { c.ReconnectWindow = 0 }, ""},
		{"reconnect window negative", false, func(c *Config) { c.ReconnectWindow = -time.Second }, "reconnect_window"},
		{"ping interval sub-second", false, func(c *Config) { c.PingInterval = 500 * time.Millisecond }, "ping_interval must be at least 1s"},
		{"ping timeout short", false, func(c *Config) { c.PingTimeout = c.PingInterval }, "ping_timeout (5s) must be longer"},
		{"shutdown grace zero", false, func(c *Config) { c.ShutdownGrace = 0 }, "shutdown_grace must be positive"},
		{"allocation bounds", false, func(c *Config) { c.Allocation.MinBitrate = 2_000_000; c.Allocation.MaxBitrate = 1_000_000 },
			"allocation.min_bitrate (2000000) is above max_bitrate (1000000)"},
		{"allocation initial above default max", false, func(c *Config) { c.Allocation.InitialBitrate = 60_000_000 },
			"allocation.initial_bitrate (60000000) is outside"},
		{"allocation initial below min", false, func(c *Config) { c.Allocation.MinBitrate = 2_000_000 },
			"allocation.initial_bitrate (1500000) is outside"},
		{"allocation negative backoff", false, func(c *Config) { c.Allocation.ProbeBackoffMax = -time.Second },
			"allocation.probe_backoff_max"},
		{"allocation tuned", false, func(c *Config) {
			c.Allocation = AllocationConfig{InitialBitrate: 800_000, MinBitrate: 100_000, MaxBitrate: 8_000_000,
				ProbeBackoffMax: 2 * time.Second, HoldBase: time.Second}
		}, ""},
		{"dev short secret ok", true, func(*Config) {}, ""},
		{"dev no keys ok", true, func(c *Config) { c.Keys = nil }, ""},
		{"dev loopback v6", true, func(c *Config) { c.Bind = "::1" }, ""},
		{"dev host address", true, func(c *Config) { c.Bind = "10.1.2.3" }, ""},
		{"dev unspecified", true, func(c *Config) { c.Bind = "0.0.0.0" }, "dev mode must bind a local address, not 0.0.0.0"},
		{"dev foreign address", true, func(c *Config) { c.Bind = "192.0.2.1" }, "192.0.2.1 is not an address of this host"},

		// Mesh settings.
		{"ephemeral mesh ports", false, func(c *Config) { c.GossipPort, c.RelayPort = 0, 0 }, ""},
		{"gossip port too big", false, func(c *Config) { c.GossipPort = 65536 }, "gossip_port 65536 out of range"},
		{"negative relay port", false, func(c *Config) { c.RelayPort = -1 }, "relay_port -1 out of range"},
		{"relay port clash", false, func(c *Config) { c.RelayPort = c.RTCUDPPort }, "relay_port and rtc_udp_port are both UDP port 7882"},
		{"relay and rtc udp both ephemeral", false, func(c *Config) { c.RelayPort, c.RTCUDPPort = 0, 0 }, ""},
		{"relay may share tcp number", false, func(c *Config) { c.RelayPort = c.Port }, ""},
		{"gossip vs http", false, func(c *Config) { c.GossipPort = c.Port }, "gossip_port and port are both TCP port 7880"},
		{"gossip vs ice tcp", false, func(c *Config) { c.GossipPort = c.RTCTCPPort }, "gossip_port and rtc_tcp_port are both TCP port 7881"},
		{"gossip vs ice udp", false, func(c *Config) { c.GossipPort = c.RTCUDPPort }, "gossip_port and rtc_udp_port are both UDP port 7882"},
		{"gossip vs relay", false, func(c *Config) { c.GossipPort = c.RelayPort }, "gossip_port and relay_port are both UDP port 7883"},
		{"standalone ignores mesh port clashes", false, func(c *Config) {
			c.Standalone, c.RelayPort, c.GossipPort = true, c.RTCUDPPort, c.Port
		}, ""},
		{"standalone still range-checks", false, func(c *Config) { c.Standalone, c.RelayPort = true, 1<<20 }, "relay_port 1048576 out of range"},
		{"join", false, func(c *Config) { c.Join = []string{"10.0.0.2:7946", "edge-b.example:7946", "[2001:db8::1]:7946"} }, ""},
		{"join without port", false, func(c *Config) { c.Join = []string{"10.0.0.2"} }, `join[0]: "10.0.0.2" is not host:port`},
		{"join named port", false, func(c *Config) { c.Join = []string{"a:1", "b:gossip"} }, `join[1]: "b:gossip": port "gossip" is not a number`},
		{"join port zero", false, func(c *Config) { c.Join = []string{"b:0"} }, `port "0" is not a number in 1-65535`},
		{"join port too big", false, func(c *Config) { c.Join = []string{"b:65536"} }, `port "65536"`},
		{"join no host", false, func(c *Config) { c.Join = []string{":7946"} }, `":7946" has no host`},
		{"join with standalone", false, func(c *Config) { c.Standalone, c.Join = true, []string{"a:1"} }, "standalone node joins no cluster"},
		{"no cluster key", false, func(c *Config) { c.ClusterKey = "" }, "cluster_key is not set"},
		{"cluster key not base64", false, func(c *Config) { c.ClusterKey = "not base64!" }, "cluster_key is not standard base64"},
		{"cluster key url encoding", false, func(c *Config) { c.ClusterKey = "-_8" + testClusterKey[3:] }, "not standard base64"},
		{"cluster key unpadded", false, func(c *Config) { c.ClusterKey = strings.TrimRight(testClusterKey, "=") }, "not standard base64"},
		{"cluster key short", false, func(c *Config) { c.ClusterKey = "AAECAwQFBgcICQoLDA0ODw==" }, "decodes to 16 bytes, want 32"},
		{"cluster key long", false, func(c *Config) { c.ClusterKey = base64.StdEncoding.EncodeToString(make([]byte, 33)) }, "decodes to 33 bytes, want 32"},
		{"dev cluster key outside dev", false, func(c *Config) { c.ClusterKey = DevClusterKey }, "public dev cluster key"},
		{"standalone needs no cluster key", false, func(c *Config) { c.Standalone, c.ClusterKey = true, "" }, ""},
		{"standalone checks a set cluster key", false, func(c *Config) { c.Standalone, c.ClusterKey = true, "AAAA" }, "decodes to 3 bytes"},
		{"standalone refuses the dev key", false, func(c *Config) { c.Standalone, c.ClusterKey = true, DevClusterKey }, "public dev cluster key"},
		{"dev cluster key in dev", true, func(*Config) {}, ""},
		{"dev without cluster key", true, func(c *Config) { c.ClusterKey = "" }, ""},
		{"dev with own cluster key", true, func(c *Config) { c.ClusterKey = testClusterKey }, ""},
		{"dev with bad cluster key", true, func(c *Config) { c.ClusterKey = "AAAA" }, "decodes to 3 bytes"},
		{"signal url ws", false, func(c *Config) { c.SignalURL = "ws://203.0.113.7:7880" }, ""},
		{"signal url wss with path", false, func(c *Config) { c.SignalURL = "wss://eu.edge.example/edge" }, ""},
		{"signal url ipv6", false, func(c *Config) { c.SignalURL = "ws://[2001:db8::1]:7880" }, ""},
		{"signal url http", false, func(c *Config) { c.SignalURL = "https://eu.edge.example" }, "scheme must be ws or wss"},
		{"signal url relative", false, func(c *Config) { c.SignalURL = "eu.edge.example:7880" }, "scheme must be ws or wss"},
		{"signal url no host", false, func(c *Config) { c.SignalURL = "wss:///rtc" }, "no host"},
		{"signal url port only", false, func(c *Config) { c.SignalURL = "ws://:7880" }, "no host"},
		{"signal url query", false, func(c *Config) { c.SignalURL = "wss://a.example/?x=1" }, "query or fragment"},
		{"signal url fragment", false, func(c *Config) { c.SignalURL = "wss://a.example/#x" }, "query or fragment"},
		{"signal url user", false, func(c *Config) { c.SignalURL = "wss://u:p@a.example" }, "user info"},
		{"signal url port zero", false, func(c *Config) { c.SignalURL = "ws://a.example:0" }, `port "0"`},
		{"signal url port too big", false, func(c *Config) { c.SignalURL = "ws://a.example:70000" }, `port "70000"`},
		{"signal url unparsable", false, func(c *Config) { c.SignalURL = "ws://a b/%zz" }, "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			if tt.dev {
				c = DevConfig()
			}
			tt.mutate(&c)
			err := c.validate(fakeInterfaceAddrs)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidConfig)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	c := validConfig()
	c.Port = -5
	c.LogLevel = "loud"
	err := c.validate(fakeInterfaceAddrs)
	require.ErrorContains(t, err, "port -5")
	require.ErrorContains(t, err, `log_level "loud"`)
}

func TestConfigValidateInterfaceError(t *testing.T) {
	c := DevConfig()
	c.Bind = "10.1.2.3"
	err := c.validate(func() ([]net.Addr, error) { return nil, errors.New("no netlink") })
	require.ErrorContains(t, err, "not an address of this host")
}

func TestConfigAdvertisedIP(t *testing.T) {
	tests := []struct {
		bind, nodeIP, want string
	}{
		{"0.0.0.0", "", ""},
		{"::", "", ""},
		{"127.0.0.1", "", "127.0.0.1"},
		{"0.0.0.0", "203.0.113.7", "203.0.113.7"},
		{"127.0.0.1", "203.0.113.7", "203.0.113.7"},
	}
	for _, tt := range tests {
		c := Config{Bind: tt.bind, NodeIP: tt.nodeIP}
		require.Equal(t, tt.want, c.AdvertisedIP(), "bind=%s node_ip=%s", tt.bind, tt.nodeIP)
	}
}

func TestParseKeys(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"k:s", map[string]string{"k": "s"}, ""},
		{"k1:s1,k2:s2", map[string]string{"k1": "s1", "k2": "s2"}, ""},
		{" k1 : s1 , k2:s2 ", map[string]string{"k1": "s1", "k2": "s2"}, ""},
		{"k:a:b", map[string]string{"k": "a:b"}, ""},
		{"", nil, "no key:secret pairs"},
		{"  ", nil, "no key:secret pairs"},
		{"k", nil, "item 1 has no ':'"},
		{":s", nil, "item 1 has an empty key"},
		{"k:", nil, `key "k" has an empty secret`},
		{"k:s,", nil, "item 2 is empty"},
		{"k:s,,k2:s", nil, "item 2 is empty"},
		{"k:s,k:t", nil, `key "k" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseKeys(tt.in)
			if tt.err != "" {
				require.ErrorIs(t, err, ErrInvalidKeys)
				require.ErrorContains(t, err, tt.err)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestConfigApplyYAML(t *testing.T) {
	tests := []struct {
		name  string
		start Config
		yaml  string
		check func(t *testing.T, c Config)
		err   string
	}{
		{
			name:  "all fields",
			start: DefaultConfig(),
			yaml: `
node_id: ND_test
region: eu-west
bind: 10.0.0.1
port: 8000
rtc_tcp_port: 8001
rtc_udp_port: 8002
node_ip: 203.0.113.7
keys:
  k1: s1
log_level: warn
log_format: console
dev: true
pli_throttle: 250ms
empty_room_timeout: 1m
reconnect_window: 30s
ping_interval: 2s
ping_timeout: 10s
shutdown_grace: 1s500ms
gossip_port: 8946
join: [10.0.0.2:7946, "edge-b.example:7946"]
cluster_key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
relay_port: 8883
signal_url: wss://eu.edge.example
standalone: true
`,
			check: func(t *testing.T, c Config) {
				require.Equal(t, Config{
					NodeID: "ND_test", Region: "eu-west", Bind: "10.0.0.1",
					Port: 8000, RTCTCPPort: 8001, RTCUDPPort: 8002, NodeIP: "203.0.113.7",
					Keys: map[string]string{"k1": "s1"}, LogLevel: "warn", LogFormat: "console", Dev: true,
					PLIThrottle: 250 * time.Millisecond, EmptyRoomTimeout: time.Minute,
					ReconnectWindow: 30 * time.Second, PingInterval: 2 * time.Second,
					PingTimeout: 10 * time.Second, ShutdownGrace: 1500 * time.Millisecond,
					GossipPort: 8946, Join: []string{"10.0.0.2:7946", "edge-b.example:7946"},
					ClusterKey: testClusterKey, RelayPort: 8883, SignalURL: "wss://eu.edge.example",
					Standalone: true,
				}, c)
			},
		},
		{
			name:  "absent fields are kept",
			start: DevConfig(),
			yaml:  "port: 9000\n",
			check: func(t *testing.T, c Config) {
				require.Equal(t, 9000, c.Port)
				require.Equal(t, "127.0.0.1", c.Bind)
				require.Equal(t, map[string]string{"devkey": "secret"}, c.Keys)
				require.True(t, c.Dev)
			},
		},
		{
			name:  "keys replace, not merge",
			start: DevConfig(),
			yaml:  "keys:\n  other: x\n",
			check: func(t *testing.T, c Config) {
				require.Equal(t, map[string]string{"other": "x"}, c.Keys)
			},
		},
		{
			name: "join replaces, not appends",
			start: func() Config {
				c := DefaultConfig()
				c.Join = []string{"a:1", "b:2"}
				return c
			}(),
			yaml: "join:\n  - c:3\n",
			check: func(t *testing.T, c Config) {
				require.Equal(t, []string{"c:3"}, c.Join)
			},
		},
		{
			name:  "dev cluster key is kept under a file without one",
			start: DevConfig(),
			yaml:  "gossip_port: 0\n",
			check: func(t *testing.T, c Config) {
				require.Equal(t, DevClusterKey, c.ClusterKey)
				require.Zero(t, c.GossipPort)
			},
		},
		{
			name:  "empty document",
			start: DefaultConfig(),
			yaml:  "# nothing\n",
			check: func(t *testing.T, c Config) { require.Equal(t, 7880, c.Port) },
		},
		{name: "unknown key", start: DefaultConfig(), yaml: "prot: 1\n", err: "field prot not found"},
		{name: "integer duration", start: DefaultConfig(), yaml: "pli_throttle: 500\n", err: "line 1: cannot unmarshal !!int `500` into time.Duration (durations are strings"},
		{name: "bad duration", start: DefaultConfig(), yaml: "ping_timeout: soon\n", err: "line 1: cannot unmarshal !!str `soon` into time.Duration"},
		{name: "wrong type", start: DefaultConfig(), yaml: "port: [1]\n", err: "line 1: cannot unmarshal !!seq into int"},
		{name: "malformed", start: DefaultConfig(), yaml: "port: : :\n", err: "yaml"},
		{name: "join not a list", start: DefaultConfig(), yaml: "join: {a: 1}\n", err: "cannot unmarshal !!map into []string"},
		{name: "standalone not a bool", start: DefaultConfig(), yaml: "standalone: sometimes\n", err: "into bool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.start
			before := c
			err := c.ApplyYAML(strings.NewReader(tt.yaml))
			if tt.err != "" {
				require.ErrorIs(t, err, ErrConfigFile)
				require.ErrorContains(t, err, tt.err)
				require.Equal(t, before, c, "a failed decode must leave the config unchanged")
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestLoadConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.yaml")
	require.NoError(t, os.WriteFile(path, []byte("region: us-east\ncluster_key: "+testClusterKey+"\nkeys:\n  k: "+testSecret+"\n"), 0o600))

	c, err := LoadConfigFile(path)
	require.NoError(t, err)
	require.Equal(t, "us-east", c.Region)
	require.Equal(t, 7880, c.Port, "defaults under the file")
	require.NoError(t, c.Validate())

	_, err = LoadConfigFile(filepath.Join(dir, "missing.yaml"))
	require.ErrorIs(t, err, ErrConfigFile)
	require.ErrorIs(t, err, os.ErrNotExist)

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("bogus: 1\n"), 0o600))
	_, err = LoadConfigFile(bad)
	require.ErrorIs(t, err, ErrConfigFile)
	require.ErrorContains(t, err, bad)
}

func TestConfigApplyEnv(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
		err   string
	}{
		{
			name: "nothing set",
			env:  nil,
			check: func(t *testing.T, c Config) {
				want := validConfig()
				want.NodeID = c.NodeID
				require.Equal(t, want, c)
			},
		},
		{
			name: "every variable",
			env: map[string]string{
				"EDGE_NODE_ID": "ND_env", "EDGE_REGION": "ap-south", "EDGE_BIND": "::",
				"EDGE_PORT": "1", "EDGE_RTC_TCP_PORT": "2", "EDGE_RTC_UDP_PORT": "3",
				"EDGE_NODE_IP": "198.51.100.1", "EDGE_KEYS": "a:b,c:d",
				"EDGE_LOG_LEVEL": "error", "EDGE_LOG_FORMAT": "console", "EDGE_DEV": "true",
				"EDGE_GOSSIP_PORT": "4", "EDGE_JOIN": "10.0.0.2:7946, [::1]:7947", "EDGE_CLUSTER_KEY": DevClusterKey,
				"EDGE_RELAY_PORT": "5", "EDGE_SIGNAL_URL": "wss://x.example", "EDGE_STANDALONE": "1",
			},
			check: func(t *testing.T, c Config) {
				require.Equal(t, "ND_env", c.NodeID)
				require.Equal(t, "ap-south", c.Region)
				require.Equal(t, "::", c.Bind)
				require.Equal(t, []int{1, 2, 3}, []int{c.Port, c.RTCTCPPort, c.RTCUDPPort})
				require.Equal(t, "198.51.100.1", c.NodeIP)
				require.Equal(t, map[string]string{"a": "b", "c": "d"}, c.Keys)
				require.Equal(t, "error", c.LogLevel)
				require.Equal(t, "console", c.LogFormat)
				require.True(t, c.Dev)
				require.Equal(t, []int{4, 5}, []int{c.GossipPort, c.RelayPort})
				require.Equal(t, []string{"10.0.0.2:7946", "[::1]:7947"}, c.Join)
				require.Equal(t, DevClusterKey, c.ClusterKey)
				require.Equal(t, "wss://x.example", c.SignalURL)
				require.True(t, c.Standalone)
			},
		},
		{
			name:  "dev false",
			env:   map[string]string{"EDGE_DEV": "0"},
			check: func(t *testing.T, c Config) { require.False(t, c.Dev) },
		},
		{name: "bad port", env: map[string]string{"EDGE_PORT": "http"}, err: `EDGE_PORT="http"`},
		{name: "bad keys", env: map[string]string{"EDGE_KEYS": "nokey"}, err: "EDGE_KEYS"},
		{name: "bad dev", env: map[string]string{"EDGE_DEV": "maybe"}, err: `EDGE_DEV="maybe"`},
		{name: "bad gossip port", env: map[string]string{"EDGE_GOSSIP_PORT": "7946/udp"}, err: `EDGE_GOSSIP_PORT="7946/udp" is not a port number`},
		{name: "bad relay port", env: map[string]string{"EDGE_RELAY_PORT": "quic"}, err: `EDGE_RELAY_PORT="quic"`},
		{name: "bad join", env: map[string]string{"EDGE_JOIN": "a:1;b:2"}, err: "EDGE_JOIN"},
		{name: "bad standalone", env: map[string]string{"EDGE_STANDALONE": "yes"}, err: `EDGE_STANDALONE="yes" is not a boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			err := c.ApplyEnv(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				require.ErrorIs(t, err, ErrInvalidEnv)
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestConfigApplyEnvKeysErrorWrapsKeys(t *testing.T) {
	c := validConfig()
	err := c.ApplyEnv(func(k string) string {
		if k == "EDGE_KEYS" {
			return "k:"
		}
		return ""
	})
	require.ErrorIs(t, err, ErrInvalidKeys)
	require.Equal(t, map[string]string{"key1": testSecret}, c.Keys, "bad EDGE_KEYS must not replace keys")
}

func TestConfigApplyEnvJoinErrorWrapsJoin(t *testing.T) {
	c := validConfig()
	c.Join = []string{"seed:7946"}
	err := c.ApplyEnv(func(k string) string {
		if k == "EDGE_JOIN" {
			return "a:1,,b:2"
		}
		return ""
	})
	require.ErrorIs(t, err, ErrInvalidEnv)
	require.ErrorIs(t, err, ErrInvalidJoin)
	require.ErrorContains(t, err, "item 2 is empty")
	require.Equal(t, []string{"seed:7946"}, c.Join, "bad EDGE_JOIN must not replace join")
}

func TestDevClusterKey(t *testing.T) {
	sum := sha256.Sum256([]byte("edge dev cluster key"))
	require.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), DevClusterKey)
	c := DevConfig()
	secret, err := c.ClusterSecret()
	require.NoError(t, err)
	require.Equal(t, sum[:], secret)
}

func TestNewClusterKey(t *testing.T) {
	k := NewClusterKey()
	require.NotEqual(t, k, NewClusterKey(), "cluster keys must be random")
	c := validConfig()
	c.ClusterKey = k
	secret, err := c.ClusterSecret()
	require.NoError(t, err)
	require.Len(t, secret, ClusterKeySize)
	require.NoError(t, c.validate(fakeInterfaceAddrs))
}

func TestConfigClusterSecret(t *testing.T) {
	devSum := sha256.Sum256([]byte("edge dev cluster key"))
	testKey := make([]byte, 32)
	for i := range testKey {
		testKey[i] = byte(i)
	}
	tests := []struct {
		name string
		dev  bool
		key  string
		want []byte
		err  string
	}{
		{name: "production key", key: testClusterKey, want: testKey},
		{name: "production key in dev", dev: true, key: testClusterKey, want: testKey},
		{name: "dev default", dev: true, key: "", want: devSum[:]},
		{name: "dev key in dev", dev: true, key: DevClusterKey, want: devSum[:]},
		{name: "none outside dev", key: "", err: "cluster_key is not set"},
		{name: "dev key outside dev", key: DevClusterKey, err: "public dev cluster key"},
		{name: "dev key with line break", key: DevClusterKey[:20] + "\n" + DevClusterKey[20:], err: "public dev cluster key"},
		{name: "not base64", key: "???", err: "not standard base64"},
		{name: "16 bytes", key: "AAECAwQFBgcICQoLDA0ODw==", err: "decodes to 16 bytes"},
		{name: "16 bytes in dev", dev: true, key: "AAECAwQFBgcICQoLDA0ODw==", err: "decodes to 16 bytes"},
		{name: "non-canonical padding bits", key: testClusterKey[:42] + "9=", err: "not standard base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Dev: tt.dev, ClusterKey: tt.key}
			got, err := c.ClusterSecret()
			if tt.err != "" {
				require.ErrorIs(t, err, ErrInvalidClusterKey)
				require.ErrorContains(t, err, tt.err)
				require.Nil(t, got)
				if tt.key != "" {
					require.NotContains(t, err.Error(), tt.key, "errors must not leak the key")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			got[0] ^= 0xff
			again, err := c.ClusterSecret()
			require.NoError(t, err)
			require.Equal(t, tt.want, again, "callers own the returned slice")
		})
	}
}

func TestConfigValidateClusterKeyErrorIs(t *testing.T) {
	c := validConfig()
	c.ClusterKey = DevClusterKey
	err := c.validate(fakeInterfaceAddrs)
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorIs(t, err, ErrInvalidClusterKey)
}

func TestParseJoin(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"10.0.0.2:7946", []string{"10.0.0.2:7946"}, ""},
		{" a.example:1 , b.example:65535 ", []string{"a.example:1", "b.example:65535"}, ""},
		{"[2001:db8::1]:7946,[::1]:1", []string{"[2001:db8::1]:7946", "[::1]:1"}, ""},
		{"", nil, ""},
		{"  ", nil, ""},
		{"a:1,", nil, "item 2 is empty"},
		{",a:1", nil, "item 1 is empty"},
		{"a", nil, `"a" is not host:port`},
		{"2001:db8::1:7946", nil, "is not host:port"},
		{":7946", nil, "has no host"},
		{"a:", nil, `port "" is not a number`},
		{"a:http", nil, `port "http" is not a number`},
		{"a:0", nil, `port "0"`},
		{"a:-1", nil, `port "-1"`},
		{"a:65536", nil, `port "65536"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseJoin(tt.in)
			if tt.err != "" {
				require.ErrorIs(t, err, ErrInvalidJoin)
				require.ErrorContains(t, err, tt.err)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
