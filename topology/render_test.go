package topology

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// loadDocument decodes testdata/<name>.
func loadDocument(t *testing.T, name string) Document {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var d Document
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&d))
	return d
}

// golden compares got with testdata/<name>, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "%s differs (go test ./topology -update rewrites it)", path)
}

func TestRenderGolden(t *testing.T) {
	docs := map[string]Document{
		"mesh":  loadDocument(t, "mesh.json"),
		"empty": {Node: "solo", Generated: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)},
	}
	renderers := map[string]func(*bytes.Buffer, Document) error{
		"tables": func(b *bytes.Buffer, d Document) error { return RenderTables(b, d) },
		"dot":    func(b *bytes.Buffer, d Document) error { return RenderDOT(b, d) },
		"json":   func(b *bytes.Buffer, d Document) error { return RenderJSON(b, d) },
	}
	for dn, d := range docs {
		for rn, render := range renderers {
			t.Run(dn+"/"+rn, func(t *testing.T) {
				before, err := json.Marshal(d)
				require.NoError(t, err)
				var b bytes.Buffer
				require.NoError(t, render(&b, d))
				golden(t, dn+"."+rn+".golden", b.Bytes())
				after, err := json.Marshal(d)
				require.NoError(t, err)
				require.JSONEq(t, string(before), string(after), "rendering must not modify the document")
			})
		}
	}
}

func TestRenderJSONRoundTrip(t *testing.T) {
	d := loadDocument(t, "mesh.json")
	var b bytes.Buffer
	require.NoError(t, RenderJSON(&b, d))
	var back Document
	require.NoError(t, json.Unmarshal(b.Bytes(), &back))
	require.Equal(t, d.Sorted(), back)
	// Canonical: rendering the decoded copy gives the same bytes.
	var again bytes.Buffer
	require.NoError(t, RenderJSON(&again, back))
	require.Equal(t, b.String(), again.String())
	// Empty lists are [] and {}, never null.
	b.Reset()
	require.NoError(t, RenderJSON(&b, Document{Rooms: []Room{{Name: "r"}}}))
	require.NotContains(t, b.String(), "null")
}

// TestRenderTreeOddEdges covers relay trees as a confused or malicious producer might send them.
func TestRenderTreeOddEdges(t *testing.T) {
	d := Document{
		Node:  "a",
		Nodes: []Node{{ID: "a", Region: "x"}, {ID: "b", Region: "x"}, {ID: "c", Region: "y"}},
		Tracks: []TrackRoute{{Track: "T1", Room: "r\tx\ny", Publisher: "p", PublisherNode: "a", Edges: []Edge{
			{From: "a", To: "b"}, {From: "a", To: "b"}, // repeated
			{From: "b", To: "a"},                       // back to the root
			{From: "b", To: "c"}, {From: "a", To: "c"}, // reached twice
			{From: "q", To: "z"}, // detached, unknown nodes
		}}},
	}
	var b bytes.Buffer
	require.NoError(t, RenderTables(&b, d))
	out := b.String()
	require.Contains(t, out, "  T1 in room r?x?y, published by p\n"+
		"    a [x]\n"+
		"    ├── b [x]\n"+
		"    └── c [y]\n"+
		"    detached: q → z\n")
	require.Equal(t, 1, strings.Count(out, "b [x]"))
}

func TestDOTQuote(t *testing.T) {
	require.Equal(t, `"plain"`, dotQuote("plain"))
	require.Equal(t, `"a\"b\\c\nd?"`, dotQuote("a\"b\\c\nd\x01"))
	var b bytes.Buffer
	require.NoError(t, RenderDOT(&b, Document{Nodes: []Node{{ID: `x"; evil -- y`, Region: `r"}`}}}))
	require.Contains(t, b.String(), `subgraph "cluster_r\"}" {`)
	require.Contains(t, b.String(), `"x\"; evil -- y" [label="x\"; evil -- y\n`)
}

func TestFormatters(t *testing.T) {
	require.Equal(t, "0 bit/s", formatRate(0))
	require.Equal(t, "800 bit/s", formatRate(100))
	require.Equal(t, "96.0 kbit/s", formatRate(12000))
	require.Equal(t, "2.50 Mbit/s", formatRate(312500))
	require.Equal(t, "1.60 Gbit/s", formatRate(2e8))
	require.Equal(t, "-", formatUptime(0))
	require.Equal(t, "45s", formatUptime(45*time.Second))
	require.Equal(t, "10m0s", formatUptime(10*time.Minute))
	require.Equal(t, "2h2m", formatUptime(7322*time.Second))
	require.Equal(t, "1d2h", formatUptime(93784*time.Second))
	require.Equal(t, "-", formatRTT(0))
	require.Equal(t, "82.4 ms", formatRTT(82.4))
}

type failingWriter struct{ after int }

var errBroken = errors.New("broken pipe")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errBroken
	}
	f.after--
	return len(p), nil
}

func TestRenderWriteErrors(t *testing.T) {
	d := loadDocument(t, "mesh.json")
	for _, after := range []int{0, 3, 10} {
		require.ErrorIs(t, RenderTables(&failingWriter{after: after}, d), errBroken, "after %d", after)
		require.ErrorIs(t, RenderDOT(&failingWriter{after: after}, d), errBroken, "after %d", after)
	}
	require.ErrorIs(t, RenderJSON(&failingWriter{}, d), errBroken)
}

// TestGoldenTreesAreRoutes keeps the golden example honest: its relay trees are what Routes
// chooses for its snapshot.
func TestGoldenTreesAreRoutes(t *testing.T) {
	d := loadDocument(t, "mesh.json")
	for _, tr := range d.Tracks {
		var subs []string
		for _, e := range tr.Edges {
			subs = append(subs, e.To)
		}
		tree, err := Routes(RouteParams{Mode: d.Mode, Nodes: d.Nodes, Links: d.Links, Publisher: tr.PublisherNode,
			Subscribers: subs})
		require.NoError(t, err, tr.Track)
		require.Equal(t, sortedClone(tr.Edges, compareEdges), tree.Edges(), tr.Track)
	}
}

// FuzzRenderDocument renders whatever a producer might send: no panic, no error into a buffer,
// and DOT quoting keeps the graph's braces balanced.
func FuzzRenderDocument(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "mesh.json"))
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"nodes":[{"id":"a\"}{","region":"}"}],"tracks":[{"publisher_node":"a","edges":[{"from":"a","to":"a"}]}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var d Document
		if json.Unmarshal(raw, &d) != nil {
			return
		}
		var b bytes.Buffer
		require.NoError(t, RenderTables(&b, d))
		b.Reset()
		require.NoError(t, RenderDOT(&b, d))
		unquoted := dotUnquoted(b.String())
		require.Equal(t, strings.Count(unquoted, "{"), strings.Count(unquoted, "}"), b.String())
		b.Reset()
		require.NoError(t, RenderJSON(&b, d))
	})
}

// dotUnquoted returns the DOT text s without its quoted strings.
func dotUnquoted(s string) string {
	var out strings.Builder
	quoted, escaped := false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case quoted && r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
		case !quoted:
			out.WriteRune(r)
		}
	}
	return out.String()
}
