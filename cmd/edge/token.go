package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/livekit/protocol/auth"
)

// tokenOptions are the flags of `edge token`.
type tokenOptions struct {
	room, identity, name, metadata, apiKey string
	noPublish, noSubscribe, noData, admin  bool
	ttl                                    time.Duration
}

// token runs `edge token`: it prints one signed access token for the chosen key.
func (a *app) token(args []string) int {
	fs := flag.NewFlagSet("edge token", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	cf := addConfigFlags(fs, keyFlagsOnly)
	var o tokenOptions
	fs.StringVar(&o.room, "room", "", "`room` to join (required)")
	fs.StringVar(&o.identity, "identity", "", "participant `identity` (required)")
	fs.StringVar(&o.name, "name", "", "participant display `name`")
	fs.StringVar(&o.metadata, "metadata", "", "participant `metadata`")
	fs.StringVar(&o.apiKey, "api-key", "", "API `key` to sign with (default: the first key in sorted order)")
	fs.BoolVar(&o.noPublish, "no-publish", false, "deny publishing tracks")
	fs.BoolVar(&o.noSubscribe, "no-subscribe", false, "deny subscribing to tracks")
	fs.BoolVar(&o.noData, "no-data", false, "deny publishing data messages")
	fs.BoolVar(&o.admin, "admin", false, "also grant roomCreate, roomList and roomAdmin")
	fs.DurationVar(&o.ttl, "ttl", time.Hour, "how long the token is valid")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: edge token --room R --identity I [flags]\n\n"+
			"Prints an access token signed with a key of the node's configuration\n"+
			"(--config, EDGE_KEYS, --keys, or --dev for devkey/secret).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return exitCode(a.stderr, "token", a.runToken(fs, cf, &o, args))
}

func (a *app) runToken(fs *flag.FlagSet, cf *configFlags, o *tokenOptions, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case o.room == "":
		return fmt.Errorf("%w: --room is required", errUsage)
	case o.identity == "":
		return fmt.Errorf("%w: --identity is required", errUsage)
	case o.ttl <= 0:
		return fmt.Errorf("%w: --ttl must be positive", errUsage)
	}
	cfg, err := cf.load(a.getenv)
	if err != nil {
		return err
	}
	key, secret, err := signingKey(&cfg, o.apiKey, "")
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(a.stderr, "warning:", w)
	}

	grant := &auth.VideoGrant{
		RoomJoin:       true,
		Room:           o.room,
		CanPublish:     boolPtr(!o.noPublish),
		CanSubscribe:   boolPtr(!o.noSubscribe),
		CanPublishData: boolPtr(!o.noData),
	}
	if o.admin {
		grant.RoomCreate, grant.RoomList, grant.RoomAdmin = true, true, true
	}
	at := auth.NewAccessToken(key, secret).
		SetIdentity(o.identity).
		SetValidFor(o.ttl).
		SetVideoGrant(grant)
	if o.name != "" {
		at.SetName(o.name)
	}
	if o.metadata != "" {
		at.SetMetadata(o.metadata)
	}
	jwt, err := at.ToJWT()
	if err != nil {
		return fmt.Errorf("sign token: %w", err)
	}
	fmt.Fprintln(a.stdout, jwt)
	return nil
}

func boolPtr(b bool) *bool { return &b }
