package node

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Configuration errors. Every error returned by Validate, LoadConfigFile,
// ApplyEnv, ParseKeys, ParseJoin and ClusterSecret wraps one of these, so
// callers can match them with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every problem Validate reports.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrInvalidKeys is wrapped by ParseKeys errors (malformed "key:secret" lists).
	ErrInvalidKeys = errors.New("invalid API keys")
	// ErrConfigFile is wrapped by LoadConfigFile/ApplyFile errors: unreadable
	// file, malformed YAML, unknown keys or values of the wrong type.
	ErrConfigFile = errors.New("config file")
	// ErrInvalidEnv is wrapped by ApplyEnv errors (unparseable EDGE_* values).
	ErrInvalidEnv = errors.New("invalid environment variable")
	// ErrInvalidJoin is wrapped by ParseJoin errors (malformed "host:port" lists).
	ErrInvalidJoin = errors.New("invalid join addresses")
	// ErrInvalidClusterKey is wrapped by ClusterSecret errors, and by the
	// cluster_key problems Validate reports (together with ErrInvalidConfig).
	ErrInvalidClusterKey = errors.New("invalid cluster key")
)

// Default ports and timings of an edge node.
const (
	DefaultPort             = 7880
	DefaultRTCTCPPort       = 7881
	DefaultRTCUDPPort       = 7882
	DefaultRelayPort        = 7883
	DefaultGossipPort       = 7946
	DefaultPLIThrottle      = 500 * time.Millisecond
	DefaultEmptyRoomTimeout = 5 * time.Minute
	DefaultReconnectWindow  = 20 * time.Second
	DefaultPingInterval     = 5 * time.Second
	DefaultPingTimeout      = 15 * time.Second
	DefaultShutdownGrace    = 5 * time.Second

	// MinSecretLength is the shortest API secret accepted outside dev mode
	// (the same minimum LiveKit enforces for HMAC-SHA256 token secrets).
	MinSecretLength = 32

	// DevAPIKey and DevAPISecret are the well-known credentials of dev mode.
	// They are public, so dev mode only ever listens on local addresses.
	DevAPIKey    = "devkey"
	DevAPISecret = "secret"

	// ClusterKeySize is the length in bytes of a decoded cluster key.
	ClusterKeySize = 32
	// DevClusterKey is the well-known cluster key of dev mode: the standard
	// base64 encoding of sha256("edge dev cluster key"). It is public, so
	// Validate and ClusterSecret refuse it outside dev mode.
	DevClusterKey = "ScwmcyQUqwEWi6FL87EZZO/duac/SuUzYh/9COncJxA="
)

// Log levels and formats accepted by Config.LogLevel and Config.LogFormat.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"console", "json"}
)

// Config configures one edge node. DefaultConfig gives production defaults;
// DevConfig gives local development defaults; Validate checks a Config before
// use. A Config is a plain value: it is not safe to mutate while a node that
// was built from it reads it, so callers hand a node its own copy.
type Config struct {
	// NodeID names this node in logs, the cluster and JoinResponse.
	// Default: "ND_" followed by 12 random characters.
	NodeID string `yaml:"node_id"`
	// Region is a free-form region name, e.g. "eu-west".
	Region string `yaml:"region"`
	// Bind is the IP the HTTP and RTC listeners bind to.
	// Default "0.0.0.0"; dev mode "127.0.0.1" (or another address of this host).
	Bind string `yaml:"bind"`
	// Port is the HTTP/WebSocket signaling port. Default 7880; 0 picks an
	// ephemeral port (tests).
	Port int `yaml:"port"`
	// RTCTCPPort is the ICE/TCP port. Default 7881; 0 picks an ephemeral port.
	RTCTCPPort int `yaml:"rtc_tcp_port"`
	// RTCUDPPort is the ICE/UDP single-port mux. Default 7882; 0 picks an
	// ephemeral port.
	RTCUDPPort int `yaml:"rtc_udp_port"`
	// NoUDPBatching turns off the batching of a fan-out burst's packets to one subscriber into
	// one UDP GSO send (on by default; kernels without UDP GSO fall back to single sends).
	NoUDPBatching bool `yaml:"no_udp_batching"`
	// NoDirectEgress makes pion's writer send subscribers' media instead of the node's own SRTP
	// path (package egress), which is on by default.
	NoDirectEgress bool `yaml:"no_direct_egress"`
	// NodeIP is the IP advertised in ICE candidates. Empty means: Bind when
	// Bind names one address, otherwise the host's interface addresses (see
	// AdvertisedIP).
	NodeIP string `yaml:"node_ip"`
	// Keys maps API key to API secret. Required outside dev mode; secrets must
	// be at least MinSecretLength characters outside dev mode.
	Keys map[string]string `yaml:"keys"`
	// LogLevel is one of debug, info, warn, error. Default info; dev debug.
	LogLevel string `yaml:"log_level"`
	// LogFormat is console or json. Default json; dev console.
	LogFormat string `yaml:"log_format"`
	// Dev enables development mode: well-known key pair, local bind only,
	// short secrets allowed.
	Dev bool `yaml:"dev"`
	// PLIThrottle is the minimum interval between keyframe requests sent
	// upstream for one track layer. Default 500ms.
	PLIThrottle time.Duration `yaml:"pli_throttle"`
	// EmptyRoomTimeout is how long a room with no participants lives. Default 5m.
	EmptyRoomTimeout time.Duration `yaml:"empty_room_timeout"`
	// ReconnectWindow is how long a participant whose signal connection
	// dropped is kept so that it can resume. Default 20s.
	ReconnectWindow time.Duration `yaml:"reconnect_window"`
	// PingInterval is the client ping interval, sent to clients in
	// JoinResponse in whole seconds. Default 5s.
	PingInterval time.Duration `yaml:"ping_interval"`
	// PingTimeout is how long a client may stay silent before its signal
	// connection is considered dead. Default 15s.
	PingTimeout time.Duration `yaml:"ping_timeout"`
	// ShutdownGrace bounds a graceful shutdown. Default 5s.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`

	// GossipPort is the memberlist port (TCP and UDP) of cluster membership
	// and the room directory. Default 7946; 0 picks an ephemeral port.
	// Unused when Standalone.
	GossipPort int `yaml:"gossip_port"`
	// Join lists seed members to join at start, each "host:port" with a
	// numeric port (their gossip ports). Empty: the node starts a cluster of
	// its own that others may join.
	Join []string `yaml:"join"`
	// ClusterKey is the standard base64 encoding of the ClusterKeySize-byte
	// secret shared by every node of a cluster. It encrypts and authenticates
	// gossip and derives the relay's mutual-TLS credentials, so a node without
	// it can neither join nor relay. Required unless Dev or Standalone; dev
	// mode defaults to the public DevClusterKey, which only dev mode accepts.
	// Read it decoded with ClusterSecret.
	ClusterKey string `yaml:"cluster_key"`
	// RelayPort is the UDP port of the QUIC relay between nodes. Default
	// 7883; 0 picks an ephemeral port. Unused when Standalone.
	RelayPort int `yaml:"relay_port"`
	// SignalURL is the ws:// or wss:// URL of this node's signaling that
	// other edges give to clients. Empty: derived at start as
	// "ws://<advertised ip>:<port>". Set it behind TLS termination or NAT.
	SignalURL string `yaml:"signal_url"`
	// Standalone runs a single node without gossip and relay: no cluster
	// ports are opened and no ClusterKey is needed. Join must then be empty.
	Standalone bool `yaml:"standalone"`
	// RegionCIDRs maps client address prefixes (CIDR) to region names, for /settings/regions and
	// for the edges a draining node sends its clients to: a client in a mapped prefix is given
	// the edges of that region first. Unmapped clients get this edge's region first.
	RegionCIDRs map[string]string `yaml:"region_cidrs"`
	// RelayMode chooses relay routes: "direct" (default: an edge pulls a track straight from the
	// publisher's edge) or "regional" (each region has a hub; a track crosses each region
	// boundary once and fans out inside the region). Every edge of a mesh must use the same.
	RelayMode string `yaml:"relay_mode"`
	// Allocation tunes the per-subscriber stream allocator (bandwidth estimate, probes, holds).
	Allocation AllocationConfig `yaml:"allocation"`
	// RelayPacketConn, if set, is the UDP socket the relay uses instead of listening on
	// RelayPort (tests wrap one to impair the relay link). The node does not close it.
	RelayPacketConn net.PacketConn `yaml:"-"`
	// RTCPacketConn, if set, is the ICE/UDP socket instead of one listening on RTCUDPPort (tests
	// wrap one to impair the subscribers' leg). Only a *net.UDPConn batches sends. The node
	// closes it when it stops.
	RTCPacketConn net.PacketConn `yaml:"-"`
}

// DefaultConfig returns production defaults. It has no API keys, so it does
// not validate until keys are added. Each call returns a new random NodeID.
func DefaultConfig() Config {
	return Config{
		NodeID:           NewNodeID(),
		Bind:             "0.0.0.0",
		Port:             DefaultPort,
		RTCTCPPort:       DefaultRTCTCPPort,
		RTCUDPPort:       DefaultRTCUDPPort,
		LogLevel:         "info",
		LogFormat:        "json",
		PLIThrottle:      DefaultPLIThrottle,
		EmptyRoomTimeout: DefaultEmptyRoomTimeout,
		ReconnectWindow:  DefaultReconnectWindow,
		PingInterval:     DefaultPingInterval,
		PingTimeout:      DefaultPingTimeout,
		ShutdownGrace:    DefaultShutdownGrace,
		GossipPort:       DefaultGossipPort,
		RelayPort:        DefaultRelayPort,
	}
}

// DevConfig returns DefaultConfig adjusted for local development: Dev set,
// the key pair DevAPIKey/DevAPISecret, the cluster key DevClusterKey, bind
// 127.0.0.1, console logs at debug level.
func DevConfig() Config {
	c := DefaultConfig()
	c.Dev = true
	c.Keys = map[string]string{DevAPIKey: DevAPISecret}
	c.ClusterKey = DevClusterKey
	c.Bind = "127.0.0.1"
	c.LogLevel = "debug"
	c.LogFormat = "console"
	return c
}

// NewNodeID returns a random node ID of the form "ND_" + 12 base32 characters.
func NewNodeID() string {
	return "ND_" + rand.Text()[:12]
}

// NewClusterKey returns a new random cluster key (ClusterKeySize bytes from
// crypto/rand, standard base64), suitable for Config.ClusterKey.
func NewClusterKey() string {
	b := make([]byte, ClusterKeySize)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return base64.StdEncoding.EncodeToString(b)
}

// ClusterSecret returns the ClusterKeySize bytes that ClusterKey encodes; in
// dev mode an empty ClusterKey stands for DevClusterKey. Errors wrap
// ErrInvalidClusterKey: no key outside dev mode, a key that is not standard
// base64 of exactly ClusterKeySize bytes, or DevClusterKey outside dev mode.
// Errors never contain the key. Each call returns a new slice.
func (c *Config) ClusterSecret() ([]byte, error) {
	key := c.ClusterKey
	if key == "" {
		if !c.Dev {
			return nil, fmt.Errorf("%w: cluster_key is not set (required outside dev mode)", ErrInvalidClusterKey)
		}
		key = DevClusterKey
	}
	secret, err := decodeClusterKey(key)
	if err != nil {
		return nil, err
	}
	if !c.Dev {
		dev, _ := decodeClusterKey(DevClusterKey)
		if bytes.Equal(secret, dev) {
			return nil, fmt.Errorf("%w: cluster_key is the public dev cluster key, accepted in dev mode only", ErrInvalidClusterKey)
		}
	}
	return secret, nil
}

// decodeClusterKey decodes a standard base64 cluster key of ClusterKeySize bytes.
func decodeClusterKey(key string) ([]byte, error) {
	secret, err := base64.StdEncoding.Strict().DecodeString(key)
	if err != nil {
		// The decoder's error quotes an offset only, never key material.
		return nil, fmt.Errorf("%w: cluster_key is not standard base64: %w", ErrInvalidClusterKey, err)
	}
	if len(secret) != ClusterKeySize {
		return nil, fmt.Errorf("%w: cluster_key decodes to %d bytes, want %d", ErrInvalidClusterKey, len(secret), ClusterKeySize)
	}
	return secret, nil
}

// AdvertisedIP returns the IP to advertise in ICE candidates: NodeIP if set,
// else Bind if Bind names one address, else "" (meaning: advertise the host's
// interface addresses as gathered by ICE).
func (c *Config) AdvertisedIP() string {
	if c.NodeIP != "" {
		return c.NodeIP
	}
	if ip, err := netip.ParseAddr(c.Bind); err == nil && !ip.IsUnspecified() {
		return c.Bind
	}
	return ""
}

// SortedKeyIDs returns the API keys of c.Keys in sorted order.
func (c *Config) SortedKeyIDs() []string {
	ids := make([]string, 0, len(c.Keys))
	for k := range c.Keys {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	return ids
}

// Validate checks c and returns every problem found, joined (errors.Join),
// each wrapping ErrInvalidConfig (cluster key problems also wrap
// ErrInvalidClusterKey). In dev mode Bind must be an address of this host
// (loopback or an interface address), never the unspecified address, because
// the dev key pair and the dev cluster key are public. Outside dev mode a
// ClusterKey is required unless Standalone, and DevClusterKey is refused.
func (c *Config) Validate() error {
	return c.validate(net.InterfaceAddrs)
}

// validate is Validate with the host's interface addresses injected (tests).
func (c *Config) validate(interfaceAddrs func() ([]net.Addr, error)) error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}

	if strings.TrimSpace(c.NodeID) == "" {
		add("node_id is empty")
	}

	bind, err := netip.ParseAddr(c.Bind)
	switch {
	case err != nil:
		add("bind %q is not an IP address", c.Bind)
	case c.Dev && bind.IsUnspecified():
		add("dev mode must bind a local address, not %s (the dev key pair is public)", c.Bind)
	case c.Dev && !isLocalAddr(bind, interfaceAddrs):
		add("dev mode must bind a local address; %s is not an address of this host", c.Bind)
	}

	if c.NodeIP != "" {
		ip, err := netip.ParseAddr(c.NodeIP)
		switch {
		case err != nil:
			add("node_ip %q is not an IP address", c.NodeIP)
		case ip.IsUnspecified():
			add("node_ip %s cannot be advertised", c.NodeIP)
		}
	}

	ports := []struct {
		name string
		val  int
	}{
		{"port", c.Port}, {"rtc_tcp_port", c.RTCTCPPort}, {"rtc_udp_port", c.RTCUDPPort},
		{"gossip_port", c.GossipPort}, {"relay_port", c.RelayPort},
	}
	for _, p := range ports {
		if p.val < 0 || p.val > 65535 {
			add("%s %d out of range 0-65535", p.name, p.val)
		}
	}
	if c.Port != 0 && c.Port == c.RTCTCPPort {
		add("port and rtc_tcp_port are both TCP port %d", c.Port)
	}

	if len(c.Keys) == 0 && !c.Dev {
		add("no API keys configured (set keys, EDGE_KEYS or --keys; or use --dev)")
	}
	for _, k := range c.SortedKeyIDs() {
		secret := c.Keys[k]
		switch {
		case strings.TrimSpace(k) == "":
			add("empty API key")
		case secret == "":
			add("API key %q has an empty secret", k)
		case !c.Dev && len(secret) < MinSecretLength:
			add("secret of API key %q is %d characters; at least %d required", k, len(secret), MinSecretLength)
		}
	}

	if !slices.Contains(logLevels, c.LogLevel) {
		add("log_level %q is not one of %s", c.LogLevel, strings.Join(logLevels, "|"))
	}
	if !slices.Contains(logFormats, c.LogFormat) {
		add("log_format %q is not one of %s", c.LogFormat, strings.Join(logFormats, "|"))
	}

	if c.PLIThrottle <= 0 {
		add("pli_throttle must be positive, got %s", c.PLIThrottle)
	}
	if c.EmptyRoomTimeout <= 0 {
		add("empty_room_timeout must be positive, got %s", c.EmptyRoomTimeout)
	}
	if c.ReconnectWindow < 0 {
		add("reconnect_window must not be negative, got %s", c.ReconnectWindow)
	}
	if c.PingInterval < time.Second {
		add("ping_interval must be at least 1s (clients get whole seconds), got %s", c.PingInterval)
	}
	if c.PingTimeout <= c.PingInterval {
		add("ping_timeout (%s) must be longer than ping_interval (%s)", c.PingTimeout, c.PingInterval)
	}
	if c.ShutdownGrace <= 0 {
		add("shutdown_grace must be positive, got %s", c.ShutdownGrace)
	}
	errs = append(errs, c.validateMesh()...)
	errs = append(errs, c.Allocation.validate()...)
	return errors.Join(errs...)
}

// validateMesh checks the cluster settings: join addresses, the cluster key,
// the signal URL, and (unless Standalone) that the gossip and relay ports do
// not collide with the other ports of the same protocol. Every error wraps
// ErrInvalidConfig.
func (c *Config) validateMesh() []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}

	if !c.Standalone {
		clashes := []struct {
			a, b   string
			pa, pb int
			proto  string
		}{
			{"relay_port", "rtc_udp_port", c.RelayPort, c.RTCUDPPort, "UDP"},
			{"gossip_port", "port", c.GossipPort, c.Port, "TCP"},
			{"gossip_port", "rtc_tcp_port", c.GossipPort, c.RTCTCPPort, "TCP"},
			{"gossip_port", "rtc_udp_port", c.GossipPort, c.RTCUDPPort, "UDP"},
			{"gossip_port", "relay_port", c.GossipPort, c.RelayPort, "UDP"},
		}
		for _, p := range clashes {
			if p.pa != 0 && p.pa == p.pb {
				add("%s and %s are both %s port %d", p.a, p.b, p.proto, p.pa)
			}
		}
	}

	for prefix, region := range c.RegionCIDRs {
		if _, err := netip.ParsePrefix(prefix); err != nil {
			add("region_cidrs: %q is not a CIDR prefix", prefix)
		}
		if strings.TrimSpace(region) == "" {
			add("region_cidrs: prefix %s maps to an empty region", prefix)
		}
	}
	if c.RelayMode != "" && c.RelayMode != "direct" && c.RelayMode != "regional" {
		add("relay_mode %q is not direct or regional", c.RelayMode)
	}
	if c.Standalone && len(c.Join) > 0 {
		add("join is set, but a standalone node joins no cluster")
	}
	for i, a := range c.Join {
		if err := checkJoinAddr(a); err != nil {
			add("join[%d]: %v", i, err)
		}
	}

	// A standalone node needs no key, but a key that is set must be sound.
	if c.ClusterKey != "" || !c.Standalone {
		if _, err := c.ClusterSecret(); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidConfig, err))
		}
	}

	if c.SignalURL != "" {
		if err := checkSignalURL(c.SignalURL); err != nil {
			add("signal_url %q: %v", c.SignalURL, err)
		}
	}
	return errs
}

// checkJoinAddr checks that a is "host:port" with a non-empty host and a
// numeric port in 1-65535.
func checkJoinAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%q is not host:port", a)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", a)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%q: port %q is not a number in 1-65535", a, port)
	}
	return nil
}

// checkSignalURL checks that s is an absolute ws:// or wss:// URL with a
// host and without query or fragment (clients append their own path and
// query).
func checkSignalURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme != "ws" && u.Scheme != "wss":
		return errors.New("scheme must be ws or wss")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("no host")
	case u.User != nil:
		return errors.New("must not carry user info")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("must not have a query or fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return fmt.Errorf("port %q is not a number in 1-65535", p)
		}
	}
	return nil
}

// isLocalAddr reports whether ip is a loopback address or one of the host's
// interface addresses.
func isLocalAddr(ip netip.Addr, interfaceAddrs func() ([]net.Addr, error)) bool {
	if ip.IsLoopback() {
		return true
	}
	addrs, err := interfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		var s string
		switch v := a.(type) {
		case *net.IPNet:
			s = v.IP.String()
		case *net.IPAddr:
			s = v.IP.String()
		default:
			s, _, _ = strings.Cut(a.String(), "/")
		}
		if have, err := netip.ParseAddr(s); err == nil && have.Unmap() == ip.Unmap() {
			return true
		}
	}
	return false
}

// Warnings returns advice about risky settings that do not stop every use of
// the Config: secrets shorter than MinSecretLength (which Validate rejects
// outside dev mode, but which can still sign tokens), except the well-known
// dev key pair itself. The caller logs them.
func (c *Config) Warnings() []string {
	var w []string
	for _, k := range c.SortedKeyIDs() {
		s := c.Keys[k]
		if k == DevAPIKey && s == DevAPISecret {
			continue
		}
		if s != "" && len(s) < MinSecretLength {
			w = append(w, fmt.Sprintf("secret of API key %q is shorter than %d characters: only acceptable in dev mode", k, MinSecretLength))
		}
	}
	return w
}

// LoadConfigFile reads the YAML file at path on top of DefaultConfig.
func LoadConfigFile(path string) (Config, error) {
	c := DefaultConfig()
	if err := c.ApplyFile(path); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ApplyFile reads the YAML file at path on top of c (see ApplyYAML).
func (c *Config) ApplyFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfigFile, err)
	}
	if err := c.ApplyYAML(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ApplyYAML decodes one YAML document from r on top of c: fields present in
// the document replace those of c, absent ones are kept. A keys mapping
// replaces c.Keys as a whole. Unknown keys are an error; durations are strings
// such as "500ms" or "5m". An empty document changes nothing.
func (c *Config) ApplyYAML(r io.Reader) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	next := *c
	next.Keys = nil
	if err := dec.Decode(&next); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		if strings.Contains(err.Error(), "time.Duration") {
			return fmt.Errorf("%w: %w (durations are strings such as \"500ms\" or \"5m\")", ErrConfigFile, err)
		}
		return fmt.Errorf("%w: %w", ErrConfigFile, err)
	}
	if next.Keys == nil {
		next.Keys = c.Keys
	}
	*c = next
	return nil
}

// ApplyEnv overrides fields of c from environment variables read through
// getenv (os.Getenv in production). Empty or unset variables change nothing.
// Variables: EDGE_NODE_ID, EDGE_REGION, EDGE_BIND, EDGE_PORT,
// EDGE_RTC_TCP_PORT, EDGE_RTC_UDP_PORT, EDGE_NODE_IP, EDGE_KEYS
// ("key:secret,key2:secret2"), EDGE_LOG_LEVEL, EDGE_LOG_FORMAT, EDGE_DEV,
// EDGE_GOSSIP_PORT, EDGE_JOIN ("host:port,host2:port2"), EDGE_CLUSTER_KEY,
// EDGE_RELAY_PORT, EDGE_SIGNAL_URL, EDGE_STANDALONE, EDGE_NO_UDP_BATCHING, EDGE_NO_DIRECT_EGRESS. All problems are
// reported, joined, each wrapping ErrInvalidEnv; a variable in error leaves
// its field unchanged.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	port := func(name string, dst *int) {
		v := getenv(name)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s=%q is not a port number", ErrInvalidEnv, name, v))
			return
		}
		*dst = n
	}
	boolean := func(name string, dst *bool) {
		v := getenv(name)
		if v == "" {
			return
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s=%q is not a boolean", ErrInvalidEnv, name, v))
			return
		}
		*dst = b
	}

	str("EDGE_NODE_ID", &c.NodeID)
	str("EDGE_REGION", &c.Region)
	str("EDGE_BIND", &c.Bind)
	port("EDGE_PORT", &c.Port)
	port("EDGE_RTC_TCP_PORT", &c.RTCTCPPort)
	port("EDGE_RTC_UDP_PORT", &c.RTCUDPPort)
	str("EDGE_NODE_IP", &c.NodeIP)
	if v := getenv("EDGE_KEYS"); v != "" {
		keys, err := ParseKeys(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: EDGE_KEYS: %w", ErrInvalidEnv, err))
		} else {
			c.Keys = keys
		}
	}
	str("EDGE_LOG_LEVEL", &c.LogLevel)
	str("EDGE_LOG_FORMAT", &c.LogFormat)
	boolean("EDGE_DEV", &c.Dev)
	port("EDGE_GOSSIP_PORT", &c.GossipPort)
	if v := getenv("EDGE_JOIN"); v != "" {
		join, err := ParseJoin(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: EDGE_JOIN: %w", ErrInvalidEnv, err))
		} else {
			c.Join = join
		}
	}
	str("EDGE_CLUSTER_KEY", &c.ClusterKey)
	port("EDGE_RELAY_PORT", &c.RelayPort)
	str("EDGE_SIGNAL_URL", &c.SignalURL)
	boolean("EDGE_STANDALONE", &c.Standalone)
	boolean("EDGE_NO_UDP_BATCHING", &c.NoUDPBatching)
	boolean("EDGE_NO_DIRECT_EGRESS", &c.NoDirectEgress)
	str("EDGE_RELAY_MODE", &c.RelayMode)
	return errors.Join(errs...)
}

// ParseJoin parses "host:port[,host:port]" into a list of seed addresses.
// Spaces around items are ignored; a blank s yields an empty list (which
// clears a configured list). Empty items and addresses that are not
// "host:port" with a numeric port in 1-65535 are errors wrapping
// ErrInvalidJoin. IPv6 hosts are bracketed: "[2001:db8::1]:7946".
func ParseJoin(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	items := strings.Split(s, ",")
	join := make([]string, 0, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%w: item %d is empty", ErrInvalidJoin, i+1)
		}
		if err := checkJoinAddr(item); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidJoin, err)
		}
		join = append(join, item)
	}
	return join, nil
}

// ParseKeys parses "key:secret[,key:secret]" into a map. Spaces around items
// are ignored; a secret may itself contain ':' (the first ':' separates).
// Empty lists, empty keys or secrets and duplicate keys are errors wrapping
// ErrInvalidKeys.
func ParseKeys(s string) (map[string]string, error) {
	keys := make(map[string]string)
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			if strings.TrimSpace(s) == "" {
				break
			}
			return nil, fmt.Errorf("%w: item %d is empty", ErrInvalidKeys, i+1)
		}
		k, secret, ok := strings.Cut(item, ":")
		k, secret = strings.TrimSpace(k), strings.TrimSpace(secret)
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: item %d has no ':' (want key:secret)", ErrInvalidKeys, i+1)
		case k == "":
			return nil, fmt.Errorf("%w: item %d has an empty key", ErrInvalidKeys, i+1)
		case secret == "":
			return nil, fmt.Errorf("%w: key %q has an empty secret", ErrInvalidKeys, k)
		}
		if _, dup := keys[k]; dup {
			return nil, fmt.Errorf("%w: key %q appears twice", ErrInvalidKeys, k)
		}
		keys[k] = secret
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key:secret pairs", ErrInvalidKeys)
	}
	return keys, nil
}
