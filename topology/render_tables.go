package topology

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// RenderTables writes d for people: a summary line, then aligned tables of the nodes (grouped
// by region; ROLE marks the node that produced d and, in regional mode, each region's hub), the
// links, the rooms with their participants per node, and one tree per track in the style of
// tree(1), each node labelled with its region. It returns the first write error.
func RenderTables(w io.Writer, d Document) error {
	ew := &errWriter{w: w}
	d = d.Sorted()
	ew.printf("%s\n", header(d))
	renderNodes(ew, d)
	renderLinks(ew, d)
	renderRooms(ew, d)
	renderTracks(ew, d)
	return ew.err
}

// table starts a titled, aligned table whose rows are tab-separated cells.
func table(ew *errWriter, title string, columns ...string) *tabwriter.Writer {
	ew.printf("\n%s\n", title)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\n", strings.Join(columns, "\t"))
	return tw
}

func row(tw *tabwriter.Writer, cells ...string) {
	fmt.Fprintf(tw, "  %s\n", strings.Join(cells, "\t"))
}

func renderNodes(ew *errWriter, d Document) {
	if len(d.Nodes) == 0 {
		ew.printf("\nNODES\n  (none)\n")
		return
	}
	hubs := hubsOf(d)
	nodes := slices.Clone(d.Nodes)
	slices.SortStableFunc(nodes, func(a, b Node) int {
		return cmp.Or(strings.Compare(a.Region, b.Region), strings.Compare(a.ID, b.ID))
	})
	tw := table(ew, "NODES", "NODE", "REGION", "ROLE", "STATE", "LIVENESS", "PARTICIPANTS", "TRACKS", "CPU",
		"UPTIME", "SIGNAL", "RELAY")
	for _, n := range nodes {
		var role []string
		if n.ID == d.Node {
			role = append(role, "self")
		}
		if hubs[n.Region] == n.ID {
			role = append(role, "hub")
		}
		row(tw, clean(n.ID), clean(regionName(n.Region)), orDash(strings.Join(role, ",")),
			clean(orDash(string(n.State))), clean(orDash(string(n.Liveness))),
			fmt.Sprint(n.Participants), fmt.Sprint(n.Tracks), fmt.Sprintf("%.1f%%", n.CPU),
			formatUptime(n.Uptime()), clean(orDash(n.SignalURL)), clean(orDash(n.RelayAddr)))
	}
	_ = tw.Flush() // errors surface through ew
}

func renderLinks(ew *errWriter, d Document) {
	if len(d.Links) == 0 {
		ew.printf("\nLINKS\n  (none)\n")
		return
	}
	tw := table(ew, "LINKS", "FROM", "TO", "RTT", "LOSS", "FROM→TO", "TO→FROM")
	for _, l := range d.Links {
		row(tw, clean(l.From), clean(l.To), formatRTT(l.RTTMillis), formatLoss(l),
			formatRate(l.BytesPerSecFrom), formatRate(l.BytesPerSecTo))
	}
	_ = tw.Flush()
}

func renderRooms(ew *errWriter, d Document) {
	if len(d.Rooms) == 0 {
		ew.printf("\nROOMS\n  (none)\n")
		return
	}
	tw := table(ew, "ROOMS", "ROOM", "PARTICIPANTS", "PER NODE")
	for _, r := range d.Rooms {
		ids := slices.Sorted(maps.Keys(r.Participants))
		per := make([]string, 0, len(ids))
		for _, id := range ids {
			per = append(per, fmt.Sprintf("%s: %d", clean(id), r.Participants[id]))
		}
		row(tw, clean(r.Name), fmt.Sprint(r.Total()), orDash(strings.Join(per, ", ")))
	}
	_ = tw.Flush()
}

func renderTracks(ew *errWriter, d Document) {
	ew.printf("\nTRACKS\n")
	if len(d.Tracks) == 0 {
		ew.printf("  (none)\n")
		return
	}
	region := make(map[string]string, len(d.Nodes))
	for _, n := range d.Nodes {
		region[n.ID] = regionName(n.Region)
	}
	label := func(id string) string {
		if r, ok := region[id]; ok {
			return fmt.Sprintf("%s [%s]", clean(id), clean(r))
		}
		return clean(id) + " [unknown node]"
	}
	for i, t := range d.Tracks {
		if i > 0 {
			ew.printf("\n")
		}
		kind := ""
		if t.Kind != "" {
			kind = " " + clean(t.Kind)
		}
		ew.printf("  %s%s in room %s, published by %s\n", clean(orDash(t.Track)), kind, clean(orDash(t.Room)),
			clean(orDash(t.Publisher)))
		renderTree(ew, t, label)
	}
}

// renderTree draws a track's relay tree from its edges. Documents come over the network, so
// it copes with anything: repeated edges are drawn once, a node reached twice is drawn where
// it is first met, and edges not connected to the publisher's node are listed as detached.
func renderTree(ew *errWriter, t TrackRoute, label func(string) string) {
	children := make(map[string][]string)
	for _, e := range t.Edges {
		if !slices.Contains(children[e.From], e.To) {
			children[e.From] = append(children[e.From], e.To)
		}
	}
	for _, c := range children {
		slices.Sort(c)
	}
	seen := map[string]bool{t.PublisherNode: true}
	ew.printf("    %s\n", label(t.PublisherNode))
	var walk func(node, prefix string)
	walk = func(node, prefix string) {
		var kids []string
		for _, c := range children[node] {
			if !seen[c] {
				seen[c] = true
				kids = append(kids, c)
			}
		}
		for i, c := range kids {
			branch, indent := "├── ", "│   "
			if i == len(kids)-1 {
				branch, indent = "└── ", "    "
			}
			ew.printf("    %s%s%s\n", prefix, branch, label(c))
			walk(c, prefix+indent)
		}
	}
	walk(t.PublisherNode, "")
	if len(t.Edges) == 0 {
		ew.printf("    (not relayed)\n")
	}
	var detached []string
	for _, e := range t.Edges {
		if !seen[e.To] {
			detached = append(detached, clean(e.From)+" → "+clean(e.To))
		}
	}
	if len(detached) > 0 {
		ew.printf("    detached: %s\n", strings.Join(detached, ", "))
	}
}
