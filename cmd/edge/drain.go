package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
)

// drain asks an edge to drain: it stops taking clients and sends its clients to other edges.
func (a *app) drain(args []string) int {
	fs := flag.NewFlagSet("edge drain", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	cf := addConfigFlags(fs, keyFlagsOnly)
	url := fs.String("url", "", "edge `URL` (http, https, ws or wss; default http://127.0.0.1 and the configured port)")
	apiKey := fs.String("api-key", "", "API `key` to sign with (default: the first configured key in sorted order)")
	apiSecret := fs.String("api-secret", "", "API `secret` of --api-key (default: the configured one)")
	timeout := fs.Duration("timeout", 30*time.Second, "HTTP request `timeout`")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: edge drain --url http://HOST:7880 [--api-key K --api-secret S]\n\n"+
			"Drains one edge: it is marked draining in the mesh, refuses new joins, and tells its clients to\n"+
			"reconnect to the nearest other edge (they rejoin there with their tracks).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	run := func() error {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if *apiSecret != "" && *apiKey == "" {
			return fmt.Errorf("%w: --api-secret needs --api-key", errUsage)
		}
		cfg, err := cf.load(a.getenv)
		if err != nil {
			return err
		}
		key, secret, err := signingKey(&cfg, *apiKey, *apiSecret)
		if err != nil {
			return err
		}
		endpoint, err := adminEndpoint(*url, &cfg, "/admin/drain")
		if err != nil {
			return err
		}
		tok, err := auth.NewAccessToken(key, secret).SetIdentity("edge-drain").SetValidFor(time.Minute).
			SetVideoGrant(&auth.VideoGrant{RoomAdmin: true}).ToJWT()
		if err != nil {
			return fmt.Errorf("sign token: %w", err)
		}
		req, err := http.NewRequest(http.MethodPost, endpoint, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := (&http.Client{Timeout: *timeout}).Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		if res.StatusCode != http.StatusAccepted {
			return fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(body)))
		}
		fmt.Fprintln(a.stdout, "draining")
		return nil
	}
	return exitCode(a.stderr, "drain", run())
}
