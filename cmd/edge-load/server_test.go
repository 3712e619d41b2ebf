package main

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The reference server's configuration keeps it on loopback: every listener on 127.0.0.1, an
// explicit node IP (no STUN lookup), loopback-only candidates, and the ports handed to it.
func TestLivekitServerConfig(t *testing.T) {
	p := nodePorts{http: 1001, rtcTCP: 1002, rtcUDP: 1003, metrics: 1004}
	args := livekitServer().args(p, "warn")
	require.Len(t, args, 2)
	require.Equal(t, "--config-body", args[0])
	var cfg struct {
		Port          int               `yaml:"port"`
		BindAddresses []string          `yaml:"bind_addresses"`
		Keys          map[string]string `yaml:"keys"`
		LogLevel      string            `yaml:"log_level"`
		Prometheus    struct {
			Port int `yaml:"port"`
		} `yaml:"prometheus"`
		RTC struct {
			TCPPort        int    `yaml:"tcp_port"`
			UDPPort        int    `yaml:"udp_port"`
			NodeIP         string `yaml:"node_ip"`
			UseExternalIP  bool   `yaml:"use_external_ip"`
			LoopbackCand   bool   `yaml:"enable_loopback_candidate"`
			InterfacesIncl struct {
				Includes []string `yaml:"includes"`
			} `yaml:"interfaces"`
			IPs struct {
				Includes []string `yaml:"includes"`
			} `yaml:"ips"`
		} `yaml:"rtc"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(args[1]), &cfg))
	require.Equal(t, 1001, cfg.Port)
	require.Equal(t, []string{"127.0.0.1"}, cfg.BindAddresses)
	require.Equal(t, map[string]string{"devkey": "secret"}, cfg.Keys)
	require.Equal(t, "warn", cfg.LogLevel)
	require.Equal(t, 1004, cfg.Prometheus.Port)
	require.Equal(t, 1002, cfg.RTC.TCPPort)
	require.Equal(t, 1003, cfg.RTC.UDPPort)
	require.Equal(t, "127.0.0.1", cfg.RTC.NodeIP)
	require.False(t, cfg.RTC.UseExternalIP)
	require.True(t, cfg.RTC.LoopbackCand)
	require.Equal(t, []string{"lo"}, cfg.RTC.InterfacesIncl.Includes)
	require.Equal(t, []string{"127.0.0.0/8"}, cfg.RTC.IPs.Includes)
	require.Equal(t, "http://127.0.0.1:1004/metrics", livekitServer().metricsURL(p))
}

func TestEdgeServerArgs(t *testing.T) {
	p := nodePorts{http: 1001, rtcTCP: 1002, rtcUDP: 1003, metrics: 1004}
	require.Equal(t, []string{"serve", "--dev", "--bind", "127.0.0.1", "--port", "1001",
		"--rtc-tcp-port", "1002", "--rtc-udp-port", "1003", "--standalone", "--log-level", "info"},
		edgeServer().args(p, "info"))
	require.Equal(t, "http://127.0.0.1:1001/metrics", edgeServer().metricsURL(p))
}

func TestParseOptionsOneServer(t *testing.T) {
	_, err := parseOptions([]string{"--edge-bin", "/x/edge", "--livekit-bin", "/x/lk"}, discard{})
	require.ErrorIs(t, err, errUsage)
	o, err := parseOptions([]string{"--livekit-bin", "/x/lk"}, discard{})
	require.NoError(t, err)
	require.Equal(t, "/x/lk", o.livekitBin)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
