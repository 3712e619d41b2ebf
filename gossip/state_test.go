package gossip

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
)

// part builds a live participant record of owner at (epoch, seq).
func part(owner string, epoch, seq uint64, identity string) *record {
	return &record{owner: owner, ver: version{epoch, seq},
		key:  entryKey{kind: kindParticipant, room: "r", identity: identity},
		part: &livekit.ParticipantInfo{Identity: identity, Metadata: fmt.Sprint(seq)}}
}

// tomb builds a removal of a participant.
func tomb(owner string, epoch, seq uint64, identity string) *record {
	return &record{owner: owner, ver: version{epoch, seq}, tomb: true,
		key: entryKey{kind: kindParticipant, room: "r", identity: identity}}
}

type step struct {
	remote  *record       // apply a remote record ...
	gone    string        // ... or: membership declared this owner dead
	alive   string        // ... or: membership lists this owner alive with epoch
	epoch   uint64        //     (for alive)
	gc      bool          // ... or: run gc
	claim   *record       // ... or: a remote copy of one of our own entries (after a local put)
	at      time.Duration // time of the step since t0
	want    applyResult   // for remote/claim
	changes []string      // "+owner/id@seq", "-owner/id:cause"
}

func describe(changes []change) []string {
	var out []string
	for _, c := range changes {
		if c.kind == changeUpsert {
			out = append(out, fmt.Sprintf("+%s/%s@%d", c.rec.owner, c.rec.key.identity, c.rec.ver.seq))
		} else {
			out = append(out, fmt.Sprintf("-%s/%s:%s", c.rec.owner, c.rec.key.identity, c.cause))
		}
	}
	slices.Sort(out)
	return out
}

func liveSet(s *dirState) []string {
	var out []string
	for id, o := range s.owners {
		for _, r := range o.live {
			out = append(out, fmt.Sprintf("%s/%s@%d.%d", id, r.key.identity, r.ver.epoch, r.ver.seq))
		}
	}
	slices.Sort(out)
	return out
}

func TestMergeRules(t *testing.T) {
	const ttl = time.Minute
	cases := []struct {
		name     string
		steps    []step
		wantLive []string
	}{
		{"in order", []step{
			{remote: part("A", 1, 1, "alice"), changes: []string{"+A/alice@1"}},
			{remote: part("A", 1, 2, "alice"), changes: []string{"+A/alice@2"}},
		}, []string{"A/alice@1.2"}},
		{"out of order: older after newer is ignored", []step{
			{remote: part("A", 1, 2, "alice"), changes: []string{"+A/alice@2"}},
			{remote: part("A", 1, 1, "alice"), want: resStale},
		}, []string{"A/alice@1.2"}},
		{"duplicate", []step{
			{remote: part("A", 1, 1, "alice"), changes: []string{"+A/alice@1"}},
			{remote: part("A", 1, 1, "alice"), want: resStale},
		}, []string{"A/alice@1.1"}},
		{"tombstone beats a late update", []step{
			{remote: part("A", 1, 1, "alice"), changes: []string{"+A/alice@1"}},
			{remote: tomb("A", 1, 3, "alice"), changes: []string{"-A/alice:removed"}},
			{remote: part("A", 1, 2, "alice"), want: resStale},
		}, nil},
		{"tombstone arriving before the create", []step{
			{remote: tomb("A", 1, 2, "alice")},
			{remote: part("A", 1, 1, "alice"), want: resStale},
		}, nil},
		{"re-add after removal with a newer version", []step{
			{remote: part("A", 1, 1, "alice"), changes: []string{"+A/alice@1"}},
			{remote: tomb("A", 1, 2, "alice"), changes: []string{"-A/alice:removed"}},
			{remote: part("A", 1, 3, "alice"), changes: []string{"+A/alice@3"}},
		}, []string{"A/alice@1.3"}},
		{"restarted owner: new epoch drops the old life", []step{
			{remote: part("A", 1, 5, "alice"), changes: []string{"+A/alice@5"}},
			{remote: part("A", 1, 6, "bob"), changes: []string{"+A/bob@6"}},
			{remote: part("A", 2, 1, "carol"), changes: []string{"+A/carol@1", "-A/alice:node-restarted", "-A/bob:node-restarted"}},
			{remote: part("A", 1, 7, "alice"), want: resStale},
		}, []string{"A/carol@2.1"}},
		{"restart learnt from node meta", []step{
			{remote: part("A", 1, 5, "alice"), changes: []string{"+A/alice@5"}},
			{alive: "A", epoch: 2, changes: []string{"-A/alice:node-restarted"}},
			{remote: part("A", 1, 6, "alice"), want: resStale},
			{remote: part("A", 2, 1, "alice"), changes: []string{"+A/alice@1"}},
		}, []string{"A/alice@2.1"}},
		{"dead owner: entries vanish, its epoch is refused until alive again", []step{
			{remote: part("A", 1, 1, "alice"), changes: []string{"+A/alice@1"}},
			{remote: part("B", 1, 1, "bob"), changes: []string{"+B/bob@1"}},
			{gone: "A", changes: []string{"-A/alice:node-failed"}},
			{remote: part("A", 1, 2, "alice"), want: resRejected},
			{alive: "A", epoch: 1},
			{remote: part("A", 1, 2, "alice"), changes: []string{"+A/alice@2"}},
		}, []string{"A/alice@1.2", "B/bob@1.1"}},
		{"dead owner restarting with a new epoch is accepted", []step{
			{remote: part("A", 1, 1, "alice"), changes: []string{"+A/alice@1"}},
			{gone: "A", changes: []string{"-A/alice:node-failed"}},
			{remote: part("A", 2, 1, "alice"), changes: []string{"+A/alice@1"}},
		}, []string{"A/alice@2.1"}},
		{"own entries: a removal claim is rejected, a stale copy is stale", []step{
			{claim: part("self", 1, 1, "me"), want: resStale},
			{remote: tomb("self", 1, 9, "me"), want: resRejected},
		}, []string{"self/me@1.1"}},
		{"own entry copy we no longer hold is refuted", []step{
			{remote: part("self", 1, 7, "ghost"), want: resRefute},
			{remote: part("self", 0, 7, "ghost"), want: resRefute},   // previous epoch
			{remote: part("self", 9, 1, "ghost"), want: resRejected}, // future epoch: not ours
		}, []string{"self/me@1.1"}},
		{"tombstones expire; the owner refutes what they no longer stop", []step{
			{remote: part("A", 1, 1, "alice"), changes: []string{"+A/alice@1"}},
			{remote: tomb("A", 1, 2, "alice"), changes: []string{"-A/alice:removed"}},
			{remote: part("A", 1, 1, "alice"), want: resStale, at: 30 * time.Second},
			{gc: true, at: 2 * time.Minute},
			// Without the tombstone a replay of seq 1 looks new here; A (the owner) refutes it
			// wherever it shows up (see the "refuted" case) and anti-entropy converges.
			{remote: part("A", 1, 1, "alice"), changes: []string{"+A/alice@1"}, at: 2 * time.Minute},
		}, []string{"A/alice@1.1"}},
	}
	t0 := time.Unix(1000, 0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newDirState("self", 1)
			_, _ = s.applyLocal(&record{owner: "self", key: entryKey{kind: kindParticipant, room: "r", identity: "me"},
				part: &livekit.ParticipantInfo{Identity: "me"}}, t0)
			for i, st := range tc.steps {
				now := t0.Add(st.at)
				var (
					res     applyResult
					changes []change
				)
				switch {
				case st.remote != nil:
					res, changes = s.applyRemote(st.remote, now)
				case st.claim != nil:
					res, changes = s.applyRemote(st.claim, now)
				case st.gone != "":
					changes = s.ownerGone(st.gone, CauseNodeFailed, now)
				case st.alive != "":
					changes = s.ownerAlive(st.alive, st.epoch)
				case st.gc:
					s.gc(now, ttl)
				}
				require.Equal(t, st.want, res, "step %d result", i)
				require.Equal(t, st.changes, describe(changes), "step %d changes", i)
			}
			want := append([]string{"self/me@1.1"}, tc.wantLive...)
			slices.Sort(want)
			want = slices.Compact(want)
			require.Equal(t, want, liveSet(s))
		})
	}
}

func TestRefutationBeatsClaim(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newDirState("self", 5)
	ghost := part("self", 5, 3, "ghost")
	require.Equal(t, resRefute, s.selfClaim(ghost))
	ref := s.refutation(ghost, now)
	require.True(t, ref.tomb)
	require.True(t, ghost.ver.less(ref.ver), "refutation %v must beat claim %v", ref.ver, ghost.ver)
	// A second refutation reuses the tombstone instead of burning versions.
	require.Equal(t, ref.ver, s.refutation(ghost, now).ver)

	// A peer holding the ghost accepts the refutation and drops it.
	peer := newDirState("peer", 1)
	_, _ = peer.applyRemote(ghost, now)
	res, ch := peer.applyRemote(ref, now)
	require.Equal(t, resApplied, res)
	require.Equal(t, []string{"-self/ghost:removed"}, describe(ch))
}

func TestSnapshotFromOwnerDropsWhatItNoLongerLists(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newDirState("self", 1)
	for seq, id := range []string{"a", "b", "c"} {
		_, _ = s.applyRemote(part("A", 1, uint64(seq+1), id), now)
	}
	_, _ = s.applyRemote(part("A", 1, 9, "late"), now) // newer than the snapshot's hw: kept
	keys := map[entryKey]struct{}{{kind: kindParticipant, room: "r", identity: "b"}: {}}
	ch := s.applySnapshot("A", 1, 5, keys, now)
	require.Equal(t, []string{"-A/a:removed", "-A/c:removed"}, describe(ch))
	require.Equal(t, []string{"A/b@1.2", "A/late@1.9"}, liveSet(s))
	// The dropped entries are tombstoned: replays stay out.
	res, _ := s.applyRemote(part("A", 1, 1, "a"), now)
	require.Equal(t, resStale, res)
}

func TestDigestCompare(t *testing.T) {
	now := time.Unix(1000, 0)
	mk := func(recs ...*record) *dirState {
		s := newDirState("self", 1)
		for _, r := range recs {
			_, _ = s.applyRemote(r, now)
		}
		return s
	}
	digestOf := func(s *dirState, owner string) digest {
		for _, d := range s.digests() {
			if d.owner == owner {
				return d
			}
		}
		t.Fatalf("no digest for %s", owner)
		return digest{}
	}
	full := mk(part("A", 1, 1, "a"), part("A", 1, 2, "b"))
	cases := []struct {
		name   string
		ours   *dirState
		theirs *dirState // default: full
		want   digestCmp
	}{
		{"equal", mk(part("A", 1, 1, "a"), part("A", 1, 2, "b")), nil, digestEqual},
		{"never saw the owner", mk(), nil, digestBehind},
		{"missing the newest", mk(part("A", 1, 1, "a")), nil, digestBehind},
		{"missed an older one", mk(part("A", 1, 2, "b")), nil, digestDiverged},
		{"ahead", mk(part("A", 1, 1, "a"), part("A", 1, 2, "b"), part("A", 1, 3, "c")), nil, digestAhead},
		{"peer knows a newer epoch", full, mk(part("A", 2, 1, "a")), digestBehind},
		{"we know a newer epoch", mk(part("A", 2, 1, "a")), nil, digestAhead},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			theirs := tc.theirs
			if theirs == nil {
				theirs = full
			}
			require.Equal(t, tc.want, tc.ours.compareDigest(digestOf(theirs, "A")))
		})
	}
	// Removal of everything: equal live sets compare equal even though high-water marks differ.
	emptied := mk(part("A", 1, 1, "a"), tomb("A", 1, 2, "a"))
	require.Equal(t, digestEqual, mk().compareDigest(digestOf(emptied, "A")))
	// Our own entries are never "behind".
	require.Equal(t, digestEqual, mk().compareDigest(digest{owner: "self", epoch: 9, hw: 9, hash: 1}))
}
