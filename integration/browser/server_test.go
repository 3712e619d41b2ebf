package browser_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
)

// Paths of the pinned SDK, relative to this package's directory.
const (
	sdkBundlePath  = "node_modules/livekit-client/dist/livekit-client.umd.js"
	sdkPackagePath = "node_modules/livekit-client/package.json"
)

// Dev-mode credentials of an edge node (node.DevConfig).
const (
	devAPIKey    = "devkey"
	devAPISecret = "secret"
)

// installedSDKVersion reads the version of the installed livekit-client.
func installedSDKVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(sdkPackagePath)
	if err != nil {
		t.Fatalf("reading %s: %v", sdkPackagePath, err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatalf("parsing %s: %v", sdkPackagePath, err)
	}
	return pkg.Version
}

// servePage starts an HTTP server on 127.0.0.1 that serves the test page
// (testdata/index.html at "/"), its script and the SDK bundle, and returns
// the page URL. The server is closed in the cleanup.
func servePage(t *testing.T) string {
	t.Helper()
	files := map[string]struct {
		path, contentType string
	}{
		"/":                      {filepath.Join("testdata", "index.html"), "text/html; charset=utf-8"},
		"/edge-test.js":          {filepath.Join("testdata", "edge-test.js"), "text/javascript; charset=utf-8"},
		"/livekit-client.umd.js": {sdkBundlePath, "text/javascript; charset=utf-8"},
	}
	mux := http.NewServeMux()
	for route, f := range files {
		body, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatalf("reading %s: %v", f.path, err)
		}
		pattern := "GET " + route
		if route == "/" {
			pattern = "GET /{$}"
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", f.contentType)
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(body)
		})
	}
	// Browsers ask for it; answer so that no 404 clutters the console.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening on 127.0.0.1: %v", err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// joinToken mints a dev-key token that lets identity join room, publish and
// subscribe.
func joinToken(t *testing.T, room, identity string) string {
	t.Helper()
	grant := &auth.VideoGrant{RoomJoin: true, Room: room}
	grant.SetCanPublish(true)
	grant.SetCanSubscribe(true)
	grant.SetCanPublishData(true)
	tok, err := auth.NewAccessToken(devAPIKey, devAPISecret).
		SetIdentity(identity).
		SetName(identity).
		SetVideoGrant(grant).
		SetValidFor(10 * time.Minute).
		ToJWT()
	if err != nil {
		t.Fatalf("minting token for %s: %v", identity, err)
	}
	return tok
}
