package topology

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// RenderDOT writes d as a Graphviz graph (render it with `dot -Tsvg`): one cluster per region
// (subgraph cluster_<region>) holding its nodes, each labelled with its load and marked when
// it is a hub (bold), draining or leaving (dashed) or not alive (grey, dotted); and one edge
// per link labelled with its RTT, loss and the rate each way, dashed red when the link is
// down. It returns the first write error.
func RenderDOT(w io.Writer, d Document) error {
	ew := &errWriter{w: w}
	d = d.Sorted()
	hubs := hubsOf(d)
	ew.printf("graph mesh {\n")
	ew.printf("\tgraph [label=%s, labelloc=t, fontname=\"Helvetica\"];\n", dotQuote(header(d)))
	ew.printf("\tnode [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	ew.printf("\tedge [fontname=\"Helvetica\", fontsize=10];\n")

	var regions []string
	byRegion := make(map[string][]Node)
	for _, n := range d.Nodes {
		if _, ok := byRegion[n.Region]; !ok {
			regions = append(regions, n.Region)
		}
		byRegion[n.Region] = append(byRegion[n.Region], n)
	}
	slices.Sort(regions)
	for _, r := range regions {
		ew.printf("\n\tsubgraph %s {\n", dotQuote("cluster_"+r))
		ew.printf("\t\tlabel=%s;\n", dotQuote(regionName(r)))
		for _, n := range byRegion[r] {
			ew.printf("\t\t%s [%s];\n", dotQuote(n.ID), dotNodeAttrs(n, hubs[n.Region] == n.ID, n.ID == d.Node))
		}
		ew.printf("\t}\n")
	}
	if len(d.Links) > 0 {
		ew.printf("\n")
	}
	for _, l := range d.Links {
		quality := fmt.Sprintf("%s, %.1f%% loss", formatRTT(l.RTTMillis), l.LossPercent)
		if l.Down() {
			quality = "down (100% loss)"
		}
		label := fmt.Sprintf("%s\n→ %s\n← %s", quality, formatRate(l.BytesPerSecFrom), formatRate(l.BytesPerSecTo))
		attrs := "label=" + dotQuote(label)
		if l.Down() {
			attrs += ", style=dashed, color=red, fontcolor=red"
		}
		ew.printf("\t%s -- %s [%s];\n", dotQuote(l.From), dotQuote(l.To), attrs)
	}
	ew.printf("}\n")
	return ew.err
}

// dotNodeAttrs returns the attribute list of a node statement.
func dotNodeAttrs(n Node, hub, self bool) string {
	lines := []string{n.ID}
	var roles []string
	if self {
		roles = append(roles, "self")
	}
	if hub {
		roles = append(roles, "hub")
	}
	if n.State != StateActive {
		roles = append(roles, orDash(string(n.State)))
	}
	if n.Liveness != Alive {
		roles = append(roles, orDash(string(n.Liveness)))
	}
	if len(roles) > 0 {
		lines = append(lines, strings.Join(roles, ", "))
	}
	lines = append(lines,
		plural(n.Participants, "participant")+", "+plural(n.Tracks, "track"),
		fmt.Sprintf("CPU %.1f%%, up %s", n.CPU, formatUptime(n.Uptime())))
	style := []string{"rounded"}
	attrs := "label=" + dotQuote(strings.Join(lines, "\n"))
	switch {
	case !n.Live():
		style = append(style, "dotted")
		attrs += ", color=gray, fontcolor=gray"
	case n.State != StateActive:
		style = append(style, "dashed")
	}
	if hub {
		style = append(style, "bold")
	}
	if self {
		attrs += ", peripheries=2"
	}
	return attrs + ", style=" + dotQuote(strings.Join(style, ","))
}

// dotQuote returns s as a DOT quoted string: backslashes and quotes escaped, newlines as \n
// (centred lines), other control characters replaced.
func dotQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// plural returns "1 track", "2 tracks".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
