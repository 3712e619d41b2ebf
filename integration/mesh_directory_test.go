package integration

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	// meshEdges is the size of the meshes of the issue 3 and 4 acceptance tests.
	meshEdges = 3
	// propagationJoins is how many joins the propagation measurement makes.
	propagationJoins = 50
	// propagationP99 is the acceptance bound on the p99 of join and leave propagation.
	propagationP99 = time.Second
)

// TestMeshPresenceAndPropagation (issue 3): two clients on each of three edges join one room and
// each sees the five others; then 50 short-lived participants join one after the other, spread
// over the edges, and leave again. For each, the time until every client on the OTHER edges
// learned of the join (OnParticipantConnected) and of the leave (OnParticipantDisconnected) is
// measured; p50 and p99 are logged and p99 must stay within 1 s.
//
// A join is timed from the moment its own edge announced it (the first same-edge observer's
// OnParticipantConnected: the node sends that update and writes the directory entry right after
// the join response), so client-side connect time does not count; the time from the start of
// the SDK's connect is logged too. A leave is timed from the call to Disconnect.
func TestMeshPresenceAndPropagation(t *testing.T) {
	nodes := startMesh(t, meshEdges)
	const room = "presence"
	var observers []*meshClient
	edgeOf := map[string]int{}
	for i, n := range nodes {
		for j := range 2 {
			id := fmt.Sprintf("obs-%d-%d", i, j)
			observers = append(observers, meshJoin(t, n.URL(), room, id, false))
			edgeOf[id] = i
		}
	}
	for _, o := range observers {
		for _, other := range observers {
			if other != o {
				waitFor(t, func() bool { return o.room.GetParticipantByIdentity(other.identity) != nil }, func() string {
					return sprintf("%s (edge %d) never saw %s (edge %d)", o.identity, edgeOf[o.identity],
						other.identity, edgeOf[other.identity])
				})
			}
		}
	}

	var joinProp, joinE2E, leaveProp []time.Duration
	for k := range propagationJoins {
		edge := k % len(nodes)
		id := fmt.Sprintf("joiner-%02d", k)
		j := meshJoin(t, nodes[edge].URL(), room, id, false)
		local, remote := splitObservers(observers, edgeOf, edge)

		var announced time.Time
		waitFor(t, func() bool {
			at, ok := firstSeen(local, id, (*meshClient).joinedAt)
			announced = at
			return ok
		}, func() string { return sprintf("no observer on edge %d saw %s join", edge, id) })
		var seen time.Time
		waitFor(t, func() bool {
			at, ok := lastSeen(remote, id, (*meshClient).joinedAt)
			seen = at
			return ok
		}, func() string {
			return sprintf("%s joined on edge %d: %s", id, edge, missing(remote, id, (*meshClient).joinedAt))
		})
		joinProp = append(joinProp, max(0, seen.Sub(announced)))
		if d := seen.Sub(announced); d > propagationP99 {
			t.Logf("slow join %s on edge %d: announced %s after connect start; %s", id, edge,
				announced.Sub(j.since).Round(time.Millisecond), lateness(remote, id, announced, (*meshClient).joinedAt))
		}
		joinE2E = append(joinE2E, seen.Sub(j.since))

		leaving := time.Now()
		j.leave(t)
		all := slices.Concat(local, remote)
		waitFor(t, func() bool {
			at, ok := lastSeen(all, id, (*meshClient).leftAt)
			seen = at
			return ok
		}, func() string { return sprintf("%s left edge %d: %s", id, edge, missing(all, id, (*meshClient).leftAt)) })
		leaveProp = append(leaveProp, seen.Sub(leaving))
		if d := seen.Sub(leaving); d > propagationP99 {
			t.Logf("slow leave %s from edge %d: %s", id, edge, lateness(all, id, leaving, (*meshClient).leftAt))
		}
	}

	logLatency(t, "join propagation to every other edge (from the join on its own edge)", joinProp)
	logLatency(t, "join visible on every other edge (from the start of the SDK connect)", joinE2E)
	logLatency(t, "leave visible on every edge (from Disconnect)", leaveProp)
	require.LessOrEqual(t, percentile(joinProp, 99), propagationP99, "p99 join propagation")
	require.LessOrEqual(t, percentile(leaveProp, 99), propagationP99, "p99 leave propagation")

	// A leave of a long-standing participant reaches every edge too.
	gone := observers[0]
	gone.leave(t)
	for _, o := range observers[1:] {
		waitFor(t, func() bool { return o.ev.has(&o.ev.disconnected, gone.identity) }, func() string {
			return sprintf("%s (edge %d) never saw %s leave", o.identity, edgeOf[o.identity], gone.identity)
		})
		require.Nil(t, o.room.GetParticipantByIdentity(gone.identity), "%s still lists %s", o.identity, gone.identity)
	}
}

// splitObservers returns the observers on edge and those on the other edges.
func splitObservers(obs []*meshClient, edgeOf map[string]int, edge int) (local, remote []*meshClient) {
	for _, o := range obs {
		if edgeOf[o.identity] == edge {
			local = append(local, o)
		} else {
			remote = append(remote, o)
		}
	}
	return local, remote
}

// firstSeen is the earliest time any of obs saw identity (by at), false if none did yet.
func firstSeen(obs []*meshClient, identity string, at func(*meshClient, string) (time.Time, bool)) (time.Time, bool) {
	var first time.Time
	for _, o := range obs {
		if t, ok := at(o, identity); ok && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first, !first.IsZero()
}

// lastSeen is the time the last of obs saw identity, false until all did.
func lastSeen(obs []*meshClient, identity string, at func(*meshClient, string) (time.Time, bool)) (time.Time, bool) {
	var last time.Time
	for _, o := range obs {
		t, ok := at(o, identity)
		if !ok {
			return time.Time{}, false
		}
		if t.After(last) {
			last = t
		}
	}
	return last, true
}

// missing names the observers that have not seen identity yet.
func missing(obs []*meshClient, identity string, at func(*meshClient, string) (time.Time, bool)) string {
	var out []string
	for _, o := range obs {
		if _, ok := at(o, identity); !ok {
			out = append(out, o.identity)
		}
	}
	return "not seen by " + sprintf("%v", out)
}

// lateness renders when each of obs saw identity, relative to since.
func lateness(obs []*meshClient, identity string, since time.Time, at func(*meshClient, string) (time.Time, bool)) string {
	var out []string
	for _, o := range obs {
		if t, ok := at(o, identity); ok {
			out = append(out, sprintf("%s +%s", o.identity, t.Sub(since).Round(time.Millisecond)))
		}
	}
	return strings.Join(out, ", ")
}

// logLatency logs the count, p50, p99 and maximum of ds.
func logLatency(t *testing.T, what string, ds []time.Duration) {
	t.Helper()
	t.Logf("%s: n=%d p50=%s p99=%s max=%s", what, len(ds),
		percentile(ds, 50).Round(time.Millisecond), percentile(ds, 99).Round(time.Millisecond),
		slices.Max(ds).Round(time.Millisecond))
}
