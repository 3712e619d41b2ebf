package browser_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// screenshotPath is where TestMeshPage saves its screenshot (relative to this package), when
// EDGE_UPDATE_SCREENSHOT=1 or when the file is missing.
const screenshotPath = "../../docs/mesh.png"

// pageProbe is run in every document of a mesh-page tab before the page's own script: it
// records uncaught errors and Content-Security-Policy violations.
const pageProbe = `window.__meshTest = {errors: [], csp: []};
window.addEventListener('error', (e) => window.__meshTest.errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => window.__meshTest.errors.push(String(e.reason)));
document.addEventListener('securitypolicyviolation',
  (e) => window.__meshTest.csp.push(e.violatedDirective + ' ' + e.blockedURI));`

// meshView is what the mesh page shows, read from its DOM (the data attributes it defines).
type meshView struct {
	Status  string `json:"status"`
	Updates int    `json:"updates"`
	Login   bool   `json:"login"`
	Nodes   []struct {
		ID           string `json:"id"`
		Label        string `json:"label"`
		Badges       string `json:"badges"`
		Liveness     string `json:"liveness"`
		State        string `json:"state"`
		Participants int    `json:"participants"`
		Tracks       int    `json:"tracks"`
		Class        string `json:"class"`
		Box          rect   `json:"box"`
	} `json:"nodes"`
	Links []struct {
		Key         string  `json:"key"`
		State       string  `json:"state"`
		RTTMillis   float64 `json:"rttMs"`
		BytesPerSec float64 `json:"bytesPerSec"`
		Hop         bool    `json:"hop"`
		Pill        string  `json:"pill"`
		PillBox     rect    `json:"pillBox"`
	} `json:"links"`
	Regions []string `json:"regions"`
	Rooms   []string `json:"rooms"`
	Tracks  []struct {
		SID  string   `json:"sid"`
		Tree []string `json:"tree"`
		Text string   `json:"text"`
	} `json:"tracks"`
	Errors   []string `json:"errors"`
	CSP      []string `json:"csp"`
	External []string `json:"external"`
}

type rect struct{ X, Y, W, H float64 }

func (a rect) overlaps(b rect) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

// meshViewJS reads a meshView from the page.
const meshViewJS = `(() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; };
  const pills = new Map([...document.querySelectorAll('[data-pill]')].map((e) => [e.dataset.pill, e]));
  const probe = window.__meshTest || {errors: ['page probe missing'], csp: []};
  return {
    status: document.body.dataset.status || '',
    updates: Number(document.body.dataset.updates || 0),
    login: !!document.querySelector('form.login'),
    nodes: [...document.querySelectorAll('[data-node-id]')].map((e) => ({
      id: e.dataset.nodeId, label: e.querySelector('.id').textContent,
      badges: [...e.querySelectorAll('.badge')].map((b) => b.textContent).join(','),
      liveness: e.dataset.liveness, state: e.dataset.state, class: e.getAttribute('class'),
      participants: Number(e.dataset.participants), tracks: Number(e.dataset.tracks),
      box: box(e.querySelector('rect.frame')),
    })),
    links: [...document.querySelectorAll('[data-link]')].map((e) => ({
      key: e.dataset.link, state: e.dataset.state, rttMs: Number(e.dataset.rttMs),
      bytesPerSec: Number(e.dataset.bytesPerSec), hop: e.classList.contains('hop'),
      pill: pills.has(e.dataset.link) ? [...pills.get(e.dataset.link).querySelectorAll('text')].map((t) => t.textContent).join(' / ') : '',
      pillBox: pills.has(e.dataset.link) ? box(pills.get(e.dataset.link).querySelector('rect')) : null,
    })),
    regions: [...document.querySelectorAll('[data-region]')].map((e) => e.dataset.region),
    rooms: [...document.querySelectorAll('tr[data-room]')].map((e) => e.dataset.room),
    tracks: [...document.querySelectorAll('[data-track]')].map((e) => ({
      sid: e.dataset.track, text: e.textContent,
      tree: [...e.querySelectorAll('[data-tree-node]')].map((li) => li.dataset.treeNode),
    })),
    errors: probe.errors, csp: probe.csp,
    external: performance.getEntriesByType('resource').map((r) => r.name).filter((n) => !n.startsWith(location.origin + '/')),
  };
})()`

// openMeshTab opens a tab with a 1280×800 viewport and the page probe installed.
func openMeshTab(t *testing.T, browserCtx context.Context) *tab {
	t.Helper()
	tb := openTab(t, browserCtx, "mesh")
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)))
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: pageProbe})
	require.NoError(t, err, "installing the page probe")
	return tb
}

// waitView polls the page until cond holds for its view and returns that view.
func waitView(t *testing.T, tb *tab, what string, cond func(c *assert.CollectT, v meshView)) meshView {
	t.Helper()
	var last meshView
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		v, err := eval[meshView](tb, evalTimeout, meshViewJS)
		if !assert.NoError(c, err) { // also while a navigation replaces the document
			return
		}
		last = v
		cond(c, v)
	}, meshWait, 250*time.Millisecond, "mesh page: %s; last view %+v", what, last)
	return last
}

// assertClean checks that the page had no script errors, broke no part of its
// Content-Security-Policy and loaded nothing from another origin.
func assertClean(t *testing.T, v meshView) {
	t.Helper()
	assert.Empty(t, v.Errors, "script errors in the page")
	assert.Empty(t, v.CSP, "Content-Security-Policy violations")
	assert.Empty(t, v.External, "resources from other origins")
}

// assertTidy checks that no two node cards and no two link labels overlap.
func assertTidy(t *testing.T, v meshView) {
	t.Helper()
	for i, a := range v.Nodes {
		for _, b := range v.Nodes[i+1:] {
			assert.False(t, a.Box.overlaps(b.Box), "cards of %s and %s overlap", a.ID, b.ID)
		}
	}
	for i, a := range v.Links {
		for _, b := range v.Links[i+1:] {
			assert.False(t, a.PillBox.overlaps(b.PillBox), "labels of links %s and %s overlap", a.Key, b.Key)
		}
	}
}

// TestMeshPage: three edges in two regions, alice publishing a microphone on edge-0 and bob
// (edge-1) and carol (edge-2) receiving it through the relay. The mesh page, opened on edge-1
// with an admin token in its URL, draws the three nodes in their regions, the relay links
// carrying traffic with their round trip, the room and the track's relay tree.
func TestMeshPage(t *testing.T) {
	requireChromium(t)
	checkMeshGoroutines(t)
	silenceSDK(t)

	nodes := startMeshNodes(t, meshNode{"edge-0", "eu"}, meshNode{"edge-1", "eu"}, meshNode{"edge-2", "us"})
	alice := joinSDK(t, nodes[0], "demo", "alice")
	bob := joinSDK(t, nodes[1], "demo", "bob")
	carol := joinSDK(t, nodes[2], "demo", "carol")
	mic := publishMic(t, alice)
	require.Eventually(t, func() bool { return bob.received.Load() > 25 && carol.received.Load() > 25 },
		meshWait, 20*time.Millisecond, "bob and carol receive alice's microphone across edges")

	browserCtx := startChromium(t)
	tb := openMeshTab(t, browserCtx)
	tb.navigate(t, nodes[1].HTTPURL()+"/admin/mesh?token="+url.QueryEscape(adminToken(t)))

	v := waitView(t, tb, "3 nodes, relay links with traffic and the track's tree", func(c *assert.CollectT, v meshView) {
		assert.Equal(c, "live", v.Status)
		assert.Len(c, v.Nodes, 3)
		for _, n := range v.Nodes { // the load each edge advertises in gossip (every 5 s)
			assert.Equal(c, 1, n.Participants, "participants on %s", n.ID)
		}
		busy := 0
		for _, l := range v.Links {
			if l.State == "busy" && l.BytesPerSec > 0 && l.RTTMillis > 0 {
				busy++
			}
		}
		assert.GreaterOrEqual(c, busy, 2, "relay links edge-0→edge-1 and edge-0→edge-2 with traffic")
		if assert.Len(c, v.Tracks, 1) {
			assert.ElementsMatch(c, []string{"edge-0", "edge-1", "edge-2"}, v.Tracks[0].Tree)
		}
	})
	labels := make([]string, 0, len(v.Nodes))
	for _, n := range v.Nodes {
		labels = append(labels, n.Label)
		assert.Equal(t, "alive", n.Liveness, n.ID)
		if n.ID == "edge-0" {
			assert.Equal(t, 1, n.Tracks, "alice's microphone on edge-0")
		}
	}
	assert.ElementsMatch(t, []string{"edge-0", "edge-1", "edge-2"}, labels, "node ids on the cards")
	assert.ElementsMatch(t, []string{"eu", "us"}, v.Regions)
	assert.Equal(t, []string{"demo"}, v.Rooms)
	assert.Equal(t, mic, v.Tracks[0].SID)
	assert.Contains(t, v.Tracks[0].Text, "alice on edge-0")
	keys := map[string]string{}
	for _, l := range v.Links {
		keys[l.Key] = l.State
		assert.NotEmpty(t, l.Pill, "label of link %s", l.Key)
	}
	assert.Equal(t, "busy", keys["edge-0|edge-1"], "links %v", keys)
	assert.Equal(t, "busy", keys["edge-0|edge-2"], "links %v", keys)
	for _, n := range v.Nodes {
		if n.ID == "edge-1" {
			assert.Contains(t, n.Badges, "this edge")
		}
	}
	assertTidy(t, v)
	// The page keeps polling: another document arrives within a few poll intervals.
	seen := v.Updates
	v = waitView(t, tb, "a later refresh", func(c *assert.CollectT, v meshView) {
		assert.Greater(c, v.Updates, seen)
		assert.Equal(c, "live", v.Status)
	})
	assertClean(t, v)
	saveScreenshot(t, tb)
}

// saveScreenshot writes a full-page PNG of the tab to screenshotPath when
// EDGE_UPDATE_SCREENSHOT=1 or when there is none yet.
func saveScreenshot(t *testing.T, tb *tab) {
	t.Helper()
	_, err := os.Stat(screenshotPath)
	if os.Getenv("EDGE_UPDATE_SCREENSHOT") != "1" && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err, "screenshot")
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err, "the screenshot is a PNG")
	require.GreaterOrEqual(t, img.Bounds().Dx(), 1280)
	require.NoError(t, os.WriteFile(screenshotPath, shot, 0o644))
	abs, _ := filepath.Abs(screenshotPath)
	t.Logf("screenshot saved to %s (%dx%d)", abs, img.Bounds().Dx(), img.Bounds().Dy())
}

// serveFixture starts a server on 127.0.0.1 in front of the node at nodeURL: GET /admin/topology answers with
// the document in file (to a bearer token equal to tok, while refuse is false; 401 otherwise),
// everything else goes to the node. It returns the server's URL.
func serveFixture(t *testing.T, nodeURL, file, tok string, refuse *atomic.Bool) string {
	t.Helper()
	doc, err := os.ReadFile(file)
	require.NoError(t, err)
	target, err := url.Parse(nodeURL)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/topology", func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() || r.Header.Get("Authorization") != "Bearer "+tok {
			http.Error(w, "access token expired", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestMeshPageStates draws the six-node, three-region document of topology/testdata/mesh.json
// (served in place of the node's own topology): signing in through the form, hubs, a draining
// and a dead node, idle, lossy and down links, two rooms and five trees, tracing a tree on
// hover, and a refused token stopping the page.
func TestMeshPageStates(t *testing.T) {
	requireChromium(t)
	checkGoroutines(t)

	n := startNode(t)
	tok := adminToken(t)
	var refuse atomic.Bool
	base := serveFixture(t, n.HTTPURL(), "../../topology/testdata/mesh.json", tok, &refuse)
	browserCtx := startChromium(t)
	tb := openMeshTab(t, browserCtx)

	tb.navigate(t, base+"/admin/mesh")
	waitView(t, tb, "the sign-in form", func(c *assert.CollectT, v meshView) { assert.True(c, v.Login) })
	_, err := eval[bool](tb, evalTimeout, `(() => { document.getElementById('token').value = `+jsString(tok)+
		`; document.querySelector('form.login').requestSubmit(); return true; })()`)
	require.NoError(t, err, "signing in")

	v := waitView(t, tb, "the fixture mesh", func(c *assert.CollectT, v meshView) {
		assert.Equal(c, "live", v.Status)
		assert.Len(c, v.Nodes, 6)
		assert.Len(c, v.Links, 6)
		assert.Len(c, v.Tracks, 5)
	})
	assert.Equal(t, []string{"ap", "eu", "us"}, v.Regions)
	assert.Equal(t, []string{"demo", "standup"}, v.Rooms)
	badges := map[string]string{}
	for _, nd := range v.Nodes {
		badges[nd.ID] = nd.Badges
		switch nd.ID {
		case "us-2":
			assert.Equal(t, "dead", nd.Liveness)
			assert.Contains(t, nd.Class, "gone")
		case "eu-3":
			assert.Equal(t, "draining", nd.State)
		}
	}
	assert.Equal(t, map[string]string{"ap-1": "hub", "eu-1": "hub", "eu-2": "this edge", "eu-3": "draining",
		"us-1": "hub", "us-2": ""}, badges, "badges per node")
	states := map[string]string{}
	pills := map[string]string{}
	for _, l := range v.Links {
		states[l.Key], pills[l.Key] = l.State, l.Pill
	}
	assert.Equal(t, map[string]string{"ap-1|eu-1": "lossy", "ap-1|us-1": "idle", "eu-1|eu-2": "busy",
		"eu-1|eu-3": "busy", "eu-1|us-1": "busy", "eu-2|us-2": "down"}, states, "link states")
	assert.Equal(t, "82.4 ms · 0.5% loss / 2.50 Mbit/s / 96.0 kbit/s", pills["eu-1|us-1"])
	assert.Equal(t, "150.2 ms / idle", pills["ap-1|us-1"], "rounded as `edge topology` does")
	assert.Equal(t, "down", pills["eu-2|us-2"])
	for _, tr := range v.Tracks {
		if tr.SID == "TR_mic_dave" {
			assert.Equal(t, []string{"eu-1"}, tr.Tree)
			assert.Contains(t, tr.Text, "not relayed")
		}
	}
	assertTidy(t, v)

	// Hovering a track traces its tree on the graph.
	_, err = eval[bool](tb, evalTimeout, `(() => { document.querySelector('[data-track="TR_cam_alice"]')
		.dispatchEvent(new MouseEvent('mouseenter')); return true; })()`)
	require.NoError(t, err)
	v = waitView(t, tb, "the hops of TR_cam_alice highlighted", func(c *assert.CollectT, v meshView) {
		var hops []string
		for _, l := range v.Links {
			if l.Hop {
				hops = append(hops, l.Key)
			}
		}
		slices.Sort(hops)
		assert.Equal(c, []string{"ap-1|eu-1", "eu-1|eu-2", "eu-1|us-1"}, hops)
	})

	// A token the API refuses stops the page, which says so.
	refuse.Store(true)
	v = waitView(t, tb, "the refused token reported", func(c *assert.CollectT, v meshView) {
		assert.Equal(c, "denied", v.Status)
	})
	assertClean(t, v)
}
