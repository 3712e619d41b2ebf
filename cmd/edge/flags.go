package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/edgemesh/edge/node"
)

var (
	// errUsage marks command-line mistakes (exit code 2) as opposed to runtime failures.
	errUsage = errors.New("invalid command line")
	// errReported marks errors the flag package has already printed with the usage text.
	errReported = errors.New("reported")
)

// configFlags are the flags that choose and override a node.Config. They are registered on a
// command's FlagSet by addConfigFlags; only flags given on the command line override anything.
type configFlags struct {
	fs *flag.FlagSet

	configPath string
	dev        bool
	nodeID     string
	region     string
	bind       string
	nodeIP     string
	port       int
	rtcTCPPort int
	rtcUDPPort int
	keys       string
	logLevel   string
	logFormat  string
	gossipPort int
	join       stringList
	clusterKey string
	relayPort  int
	signalURL  string
	standalone bool
	relayMode  string
}

// stringList is a flag.Value that collects every occurrence of a repeatable flag, unparsed.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// configFlagSet says which groups of configuration flags a command accepts.
type configFlagSet int

const (
	keyFlagsOnly   configFlagSet = iota // --config, --dev, --keys (edge token)
	allConfigFlags                      // every node flag (edge serve)
)

// addConfigFlags registers the configuration flags of set on fs.
func addConfigFlags(fs *flag.FlagSet, set configFlagSet) *configFlags {
	cf := &configFlags{fs: fs}
	fs.StringVar(&cf.configPath, "config", "", "YAML config `file` (unknown keys are an error)")
	fs.BoolVar(&cf.dev, "dev", false, "development mode: key devkey/secret, bind 127.0.0.1, console logs")
	fs.StringVar(&cf.keys, "keys", "", "API keys as `key:secret[,key:secret]` (env EDGE_KEYS)")
	if set == keyFlagsOnly {
		return cf
	}
	fs.StringVar(&cf.nodeID, "node-id", "", "node `id` (default ND_ + random; env EDGE_NODE_ID)")
	fs.StringVar(&cf.region, "region", "", "`region` name, e.g. eu-west (env EDGE_REGION)")
	fs.StringVar(&cf.bind, "bind", "", "`IP` to listen on (default 0.0.0.0; --dev 127.0.0.1; env EDGE_BIND)")
	fs.StringVar(&cf.nodeIP, "node-ip", "", "`IP` advertised in ICE candidates (default: the bind IP; env EDGE_NODE_IP)")
	fs.IntVar(&cf.port, "port", node.DefaultPort, "HTTP/WebSocket `port`, 0 = ephemeral (env EDGE_PORT)")
	fs.IntVar(&cf.rtcTCPPort, "rtc-tcp-port", node.DefaultRTCTCPPort, "ICE/TCP `port`, 0 = ephemeral (env EDGE_RTC_TCP_PORT)")
	fs.IntVar(&cf.rtcUDPPort, "rtc-udp-port", node.DefaultRTCUDPPort, "ICE/UDP `port`, 0 = ephemeral (env EDGE_RTC_UDP_PORT)")
	fs.StringVar(&cf.logLevel, "log-level", "", "debug|info|warn|error (default info; --dev debug; env EDGE_LOG_LEVEL)")
	fs.StringVar(&cf.logFormat, "log-format", "", "console|json (default json; --dev console; env EDGE_LOG_FORMAT)")
	fs.IntVar(&cf.gossipPort, "gossip-port", node.DefaultGossipPort, "gossip (memberlist) TCP+UDP `port`, 0 = ephemeral (env EDGE_GOSSIP_PORT)")
	fs.Var(&cf.join, "join", "gossip `host:port[,host:port]` of seed members to join; repeatable; \"\" = none (env EDGE_JOIN)")
	fs.StringVar(&cf.clusterKey, "cluster-key", "", "base64 of the cluster's 32-byte `key`; required unless --dev or --standalone (env EDGE_CLUSTER_KEY)")
	fs.IntVar(&cf.relayPort, "relay-port", node.DefaultRelayPort, "QUIC relay UDP `port`, 0 = ephemeral (env EDGE_RELAY_PORT)")
	fs.StringVar(&cf.signalURL, "signal-url", "", "ws:// or wss:// `URL` other edges give clients (default ws://<advertised ip>:<port>; env EDGE_SIGNAL_URL)")
	fs.BoolVar(&cf.standalone, "standalone", false, "single node: no gossip, no relay, no cluster key (env EDGE_STANDALONE)")
	fs.StringVar(&cf.relayMode, "relay-mode", "", "relay routes: `direct` (default) or regional (one hub per region; env EDGE_RELAY_MODE)")
	return cf
}

// load builds the Config with the precedence defaults < dev defaults < config file < environment
// < flags. Dev defaults apply when dev mode ends up enabled by any layer (--dev, `dev: true` in
// the file, EDGE_DEV), still underneath the file, environment and flags. The Config is not
// validated.
func (cf *configFlags) load(getenv func(string) string) (node.Config, error) {
	set := make(map[string]bool)
	cf.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	c, err := cf.layer(node.DefaultConfig(), set, getenv)
	if err != nil || !c.Dev {
		return c, err
	}
	return cf.layer(node.DevConfig(), set, getenv)
}

// layer applies the config file, the environment and the flags given on the command line on top
// of base.
func (cf *configFlags) layer(base node.Config, set map[string]bool, getenv func(string) string) (node.Config, error) {
	c := base
	if cf.configPath != "" {
		if err := c.ApplyFile(cf.configPath); err != nil {
			return node.Config{}, err
		}
	}
	if err := c.ApplyEnv(getenv); err != nil {
		return node.Config{}, err
	}
	if set["keys"] {
		keys, err := node.ParseKeys(cf.keys)
		if err != nil {
			return node.Config{}, fmt.Errorf("%w: --keys: %w", errUsage, err)
		}
		c.Keys = keys
	}
	str := func(name string, dst *string, v string) {
		if set[name] {
			*dst = v
		}
	}
	num := func(name string, dst *int, v int) {
		if set[name] {
			*dst = v
		}
	}
	if set["dev"] {
		c.Dev = cf.dev
	}
	str("node-id", &c.NodeID, cf.nodeID)
	str("region", &c.Region, cf.region)
	str("bind", &c.Bind, cf.bind)
	str("node-ip", &c.NodeIP, cf.nodeIP)
	num("port", &c.Port, cf.port)
	num("rtc-tcp-port", &c.RTCTCPPort, cf.rtcTCPPort)
	num("rtc-udp-port", &c.RTCUDPPort, cf.rtcUDPPort)
	str("log-level", &c.LogLevel, cf.logLevel)
	str("log-format", &c.LogFormat, cf.logFormat)
	num("gossip-port", &c.GossipPort, cf.gossipPort)
	if set["join"] {
		join, err := parseJoinFlags(cf.join)
		if err != nil {
			return node.Config{}, err
		}
		c.Join = join
	}
	str("cluster-key", &c.ClusterKey, cf.clusterKey)
	num("relay-port", &c.RelayPort, cf.relayPort)
	str("signal-url", &c.SignalURL, cf.signalURL)
	str("relay-mode", &c.RelayMode, cf.relayMode)
	if set["standalone"] {
		c.Standalone = cf.standalone
	}
	return c, nil
}

// parseJoinFlags concatenates the seed lists of every --join given, in order. `--join ""` adds
// none, so given alone it clears the seeds of the file or environment.
func parseJoinFlags(values []string) ([]string, error) {
	var join []string
	for _, v := range values {
		seeds, err := node.ParseJoin(v)
		if err != nil {
			return nil, fmt.Errorf("%w: --join: %w", errUsage, err)
		}
		join = append(join, seeds...)
	}
	return join, nil
}

// parseFlags parses args with fs and rejects positional arguments. It returns flag.ErrHelp for
// -h, and errors wrapping errUsage and errReported for every other mistake (already printed on
// fs's output).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w %w: %w", errUsage, errReported, err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return fmt.Errorf("%w %w: unexpected argument %q", errUsage, errReported, fs.Arg(0))
	}
	return nil
}

// exitCode maps a command error to an exit code (0 ok or -h, 1 failure, 2 usage error),
// printing the error unless the flag package already did.
func exitCode(stderr io.Writer, cmd string, err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errReported):
		return 2
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "edge %s: %v (edge %s -h for help)\n", cmd, err, cmd)
		return 2
	default:
		fmt.Fprintf(stderr, "edge %s: %v\n", cmd, err)
		return 1
	}
}
