package topology

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// Sorted returns a copy of d in canonical order (nodes by id, links by from then to, rooms by
// name, tracks by room then track, each tree's edges by from then to) with empty lists and
// maps instead of nil ones, so that two encodings of one snapshot are byte for byte equal. d is
// not modified.
func (d Document) Sorted() Document {
	out := d
	out.Nodes = sortedClone(d.Nodes, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	out.Links = sortedClone(d.Links, func(a, b Link) int {
		return cmp.Or(strings.Compare(a.From, b.From), strings.Compare(a.To, b.To))
	})
	out.Rooms = sortedClone(d.Rooms, func(a, b Room) int { return strings.Compare(a.Name, b.Name) })
	for i, r := range out.Rooms {
		out.Rooms[i].Participants = make(map[string]int, len(r.Participants))
		maps.Copy(out.Rooms[i].Participants, r.Participants)
	}
	out.Tracks = sortedClone(d.Tracks, func(a, b TrackRoute) int {
		return cmp.Or(strings.Compare(a.Room, b.Room), strings.Compare(a.Track, b.Track))
	})
	for i, t := range out.Tracks {
		out.Tracks[i].Edges = sortedClone(t.Edges, compareEdges)
	}
	return out
}

// sortedClone returns a sorted copy of s, never nil.
func sortedClone[T any](s []T, cmp func(a, b T) int) []T {
	out := make([]T, len(s))
	copy(out, s)
	slices.SortStableFunc(out, cmp)
	return out
}
