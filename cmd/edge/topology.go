package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/edgemesh/edge/node"
	"github.com/edgemesh/edge/topology"
)

const (
	// topologyPath is the admin endpoint serving the mesh as a topology.Document.
	topologyPath = "/admin/topology"
	// topologyTokenTTL is the validity of the token minted for each request.
	topologyTokenTTL = 5 * time.Minute
	// maxTopologyBody bounds the document read from the server.
	maxTopologyBody = 32 << 20
	// clearScreen moves the cursor home and clears the screen (ANSI), once per --watch refresh.
	clearScreen = "\x1b[H\x1b[2J"
)

// topologyOptions are the flags of `edge topology`.
type topologyOptions struct {
	url, apiKey, apiSecret string
	asJSON, asDOT, watch   bool
	interval, timeout      time.Duration
	count                  int
}

// topology runs `edge topology`: it fetches the mesh document from an edge and prints it as
// tables, JSON or Graphviz DOT, once or every --interval with --watch.
func (a *app) topology(args []string) int {
	fs := flag.NewFlagSet("edge topology", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	cf := addConfigFlags(fs, keyFlagsOnly)
	var o topologyOptions
	fs.StringVar(&o.url, "url", "", "edge `URL` (http, https, ws or wss; default http://127.0.0.1 and the configured port)")
	fs.StringVar(&o.apiKey, "api-key", "", "API `key` to sign with (default: the first configured key in sorted order)")
	fs.StringVar(&o.apiSecret, "api-secret", "", "API `secret` of --api-key (default: the configured one)")
	fs.BoolVar(&o.asJSON, "json", false, "print the document as received (JSON)")
	fs.BoolVar(&o.asDOT, "dot", false, "print a Graphviz graph of nodes and links (render with dot -Tsvg)")
	fs.BoolVar(&o.watch, "watch", false, "refresh in place every --interval until interrupted")
	fs.DurationVar(&o.interval, "interval", 2*time.Second, "refresh `interval` of --watch")
	fs.IntVar(&o.count, "count", 0, "with --watch, stop after `n` refreshes (0 = until interrupted)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "HTTP request `timeout`")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: edge topology --url http://HOST:7880 [--api-key K --api-secret S] [--json|--dot] [--watch]\n\n"+
			"Shows the mesh as one edge sees it: nodes, links, rooms and the relay tree of every track.\n"+
			"Requests are signed with a key given by --api-key/--api-secret or from the node's configuration\n"+
			"(--config, EDGE_KEYS, --keys, or --dev for devkey/secret).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return exitCode(a.stderr, "topology", a.runTopology(fs, cf, &o, args))
}

func (a *app) runTopology(fs *flag.FlagSet, cf *configFlags, o *topologyOptions, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case o.asJSON && o.asDOT:
		return fmt.Errorf("%w: --json and --dot exclude each other", errUsage)
	case o.interval <= 0:
		return fmt.Errorf("%w: --interval must be positive", errUsage)
	case o.timeout <= 0:
		return fmt.Errorf("%w: --timeout must be positive", errUsage)
	case o.count < 0:
		return fmt.Errorf("%w: --count must not be negative", errUsage)
	case o.count > 0 && !o.watch:
		return fmt.Errorf("%w: --count needs --watch", errUsage)
	case o.apiSecret != "" && o.apiKey == "":
		return fmt.Errorf("%w: --api-secret needs --api-key", errUsage)
	}
	cfg, err := cf.load(a.getenv)
	if err != nil {
		return err
	}
	key, secret, err := signingKey(&cfg, o.apiKey, o.apiSecret)
	if err != nil {
		return err
	}
	endpoint, err := topologyEndpoint(o.url, &cfg)
	if err != nil {
		return err
	}

	ctx, cancel := a.topologyContext()
	defer cancel()
	f := &topologyFetcher{client: &http.Client{Timeout: o.timeout}, endpoint: endpoint, key: key, secret: secret}
	if !o.watch {
		var out bytes.Buffer
		if err := f.show(ctx, &out, o); err != nil {
			return err
		}
		_, err := a.stdout.Write(out.Bytes())
		return err
	}
	return a.watchTopology(ctx, f, o)
}

// topologyContext returns the context that ends a run: canceled on SIGINT/SIGTERM in
// production, never by itself when the app has no stopContext (tests that do not need it).
func (a *app) topologyContext() (context.Context, context.CancelFunc) {
	if a.stopContext == nil {
		return context.WithCancel(context.Background())
	}
	return a.stopContext(context.Background())
}

// watchTopology redraws the mesh every o.interval until ctx ends (exit 0) or o.count refreshes
// were made (the error of the last one, if it failed). A failed refresh is shown in its frame
// and the watch goes on.
func (a *app) watchTopology(ctx context.Context, f *topologyFetcher, o *topologyOptions) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		var frame bytes.Buffer
		frame.WriteString(clearScreen)
		fmt.Fprintf(&frame, "every %s: %s  (refresh %d, %s)\n\n", o.interval, f.endpoint, i,
			time.Now().Format(time.TimeOnly))
		err := f.show(ctx, &frame, o)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			fmt.Fprintf(&frame, "error: %v\n", err)
		}
		if _, werr := a.stdout.Write(frame.Bytes()); werr != nil {
			return werr
		}
		if o.count > 0 && i >= o.count {
			return err
		}
		timer.Reset(o.interval)
	}
}

// signingKey returns the key pair requests are signed with: --api-key/--api-secret when both
// are given, else the configured key named by --api-key, else the first configured key.
func signingKey(cfg *node.Config, apiKey, apiSecret string) (string, string, error) {
	if apiSecret != "" {
		return apiKey, apiSecret, nil
	}
	ids := cfg.SortedKeyIDs()
	if len(ids) == 0 {
		return "", "", errors.New("no API keys configured: use --api-key/--api-secret, --dev, --keys, EDGE_KEYS or --config")
	}
	if apiKey == "" {
		return ids[0], cfg.Keys[ids[0]], nil
	}
	if !slices.Contains(ids, apiKey) {
		return "", "", fmt.Errorf("API key %q is not configured (give its secret with --api-secret)", apiKey)
	}
	return apiKey, cfg.Keys[apiKey], nil
}

// topologyEndpoint turns the --url of an edge into the URL of its topology document.
func topologyEndpoint(raw string, cfg *node.Config) (string, error) {
	return adminEndpoint(raw, cfg, topologyPath)
}

// adminEndpoint turns the --url of an edge into the URL of one of its admin resources. ws and
// wss URLs (what clients are given) map to http and https; a bare host:port means http. Without
// --url it is the configured node on this host.
func adminEndpoint(raw string, cfg *node.Config, path string) (string, error) {
	if raw == "" {
		host := "127.0.0.1"
		if ip := net.ParseIP(cfg.Bind); ip != nil && !ip.IsUnspecified() {
			host = cfg.Bind
		}
		port := cfg.Port
		if port <= 0 {
			port = node.DefaultPort
		}
		raw = "http://" + net.JoinHostPort(host, strconv.Itoa(port))
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: --url: %w", errUsage, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("%w: --url: scheme %q is not http, https, ws or wss", errUsage, u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%w: --url %q has no host", errUsage, raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String(), nil
}

// topologyFetcher gets the topology document of one edge. It is used by one goroutine.
type topologyFetcher struct {
	client      *http.Client
	endpoint    string
	key, secret string
}

// token mints a short-lived token allowed to read the admin API (roomList and roomAdmin).
func (f *topologyFetcher) token() (string, error) {
	at := auth.NewAccessToken(f.key, f.secret).
		SetIdentity("edge-topology").
		SetValidFor(topologyTokenTTL).
		SetVideoGrant(&auth.VideoGrant{RoomList: true, RoomAdmin: true})
	jwt, err := at.ToJWT()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return jwt, nil
}

// fetch returns the document as received and decoded.
func (f *topologyFetcher) fetch(ctx context.Context) ([]byte, topology.Document, error) {
	var doc topology.Document
	jwt, err := f.token()
	if err != nil {
		return nil, doc, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.endpoint, nil)
	if err != nil {
		return nil, doc, fmt.Errorf("GET %s: %w", f.endpoint, err)
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, doc, err // *url.Error names the method and URL
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTopologyBody+1))
	if err != nil {
		return nil, doc, fmt.Errorf("GET %s: read body: %w", f.endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, doc, fmt.Errorf("GET %s: %s: %s", f.endpoint, resp.Status, summarize(body))
	}
	if len(body) > maxTopologyBody {
		return nil, doc, fmt.Errorf("GET %s: document larger than %d bytes", f.endpoint, maxTopologyBody)
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, doc, fmt.Errorf("GET %s: decode topology document: %w", f.endpoint, err)
	}
	return body, doc, nil
}

// show fetches the document and renders it into w in the format o asks for.
func (f *topologyFetcher) show(ctx context.Context, w io.Writer, o *topologyOptions) error {
	raw, doc, err := f.fetch(ctx)
	if err != nil {
		return err
	}
	switch {
	case o.asJSON:
		if !bytes.HasSuffix(raw, []byte("\n")) {
			raw = append(raw, '\n')
		}
		_, err = w.Write(raw)
		return err
	case o.asDOT:
		return topology.RenderDOT(w, doc)
	}
	return topology.RenderTables(w, doc)
}

// summarize returns the start of an error body on one line.
func summarize(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
