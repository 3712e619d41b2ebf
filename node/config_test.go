package node

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testSecret = "0123456789abcdef0123456789abcdef" // 32 characters

// validConfig returns a production Config that passes Validate.
func validConfig() Config {
	c := DefaultConfig()
	c.Keys = map[string]string{"key1": testSecret}
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

	err := c.validate(fakeInterfaceAddrs)
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorContains(t, err, "no API keys")

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
		{"dev short secret ok", true, func(*Config) {}, ""},
		{"dev no keys ok", true, func(c *Config) { c.Keys = nil }, ""},
		{"dev loopback v6", true, func(c *Config) { c.Bind = "::1" }, ""},
		{"dev host address", true, func(c *Config) { c.Bind = "10.1.2.3" }, ""},
		{"dev unspecified", true, func(c *Config) { c.Bind = "0.0.0.0" }, "dev mode must bind a local address, not 0.0.0.0"},
		{"dev foreign address", true, func(c *Config) { c.Bind = "192.0.2.1" }, "192.0.2.1 is not an address of this host"},
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
`,
			check: func(t *testing.T, c Config) {
				require.Equal(t, Config{
					NodeID: "ND_test", Region: "eu-west", Bind: "10.0.0.1",
					Port: 8000, RTCTCPPort: 8001, RTCUDPPort: 8002, NodeIP: "203.0.113.7",
					Keys: map[string]string{"k1": "s1"}, LogLevel: "warn", LogFormat: "console", Dev: true,
					PLIThrottle: 250 * time.Millisecond, EmptyRoomTimeout: time.Minute,
					ReconnectWindow: 30 * time.Second, PingInterval: 2 * time.Second,
					PingTimeout: 10 * time.Second, ShutdownGrace: 1500 * time.Millisecond,
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
	require.NoError(t, os.WriteFile(path, []byte("region: us-east\nkeys:\n  k: "+testSecret+"\n"), 0o600))

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
