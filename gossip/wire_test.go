package gossip

import (
	"errors"
	"testing"

	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// richParticipant is a participant publishing audio and a three-layer simulcast video track.
func richParticipant(identity string) *livekit.ParticipantInfo {
	return &livekit.ParticipantInfo{
		Sid: "PA_" + identity, Identity: identity, Name: "Name " + identity,
		State: livekit.ParticipantInfo_ACTIVE, Metadata: `{"role":"speaker"}`, JoinedAt: 1700000000,
		JoinedAtMs: 1700000000123, IsPublisher: true, Attributes: map[string]string{"team": "blue"},
		Permission: &livekit.ParticipantPermission{CanSubscribe: true, CanPublish: true, CanPublishData: true},
		Tracks: []*livekit.TrackInfo{
			{Sid: "TR_a" + identity, Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE,
				MimeType: "audio/opus", Stream: "camera"},
			{Sid: "TR_v" + identity, Type: livekit.TrackType_VIDEO, Source: livekit.TrackSource_CAMERA,
				MimeType: "video/VP8", Width: 1280, Height: 720, Simulcast: true, Stream: "camera",
				Layers: []*livekit.VideoLayer{
					{Quality: livekit.VideoQuality_LOW, Width: 320, Height: 180, Bitrate: 150_000},
					{Quality: livekit.VideoQuality_MEDIUM, Width: 640, Height: 360, Bitrate: 500_000},
					{Quality: livekit.VideoQuality_HIGH, Width: 1280, Height: 720, Bitrate: 1_700_000},
				}},
		},
	}
}

func TestWireRoundTrip(t *testing.T) {
	p := &record{owner: "node-a", ver: version{1700000000000000000, 42},
		key:  entryKey{kind: kindParticipant, room: "lobby", identity: "alice"},
		part: richParticipant("alice")}
	room := &record{owner: "node-a", ver: version{7, 3}, stamp: 99,
		key:  entryKey{kind: kindRoom, room: "lobby"},
		room: &livekit.Room{Name: "lobby", Sid: "RM_x", Metadata: "m", EmptyTimeout: 300, CreationTimeMs: 5}}
	tb := &record{owner: "node-b", ver: version{1, 9}, tomb: true,
		key: entryKey{kind: kindParticipant, room: "lobby", identity: "bob"}}

	for _, r := range []*record{p, room, tb} {
		b, err := encodeDelta(r)
		require.NoError(t, err)
		m, err := decodeMessage(b)
		require.NoError(t, err)
		require.Nil(t, m.state)
		requireSameRecord(t, r, m.rec)
	}
	t.Logf("participant delta with audio + 3-layer simulcast: %d bytes", mustLen(t, p))

	sm := &stateMsg{sender: "node-a", full: true, recs: []*record{p, room, tb},
		digests: []digest{{owner: "node-a", epoch: 7, hw: 3, hash: 1 << 63}, {owner: "node-b", epoch: 1, hw: 9}}}
	b, err := encodeState(sm)
	require.NoError(t, err)
	m, err := decodeMessage(b)
	require.NoError(t, err)
	require.Nil(t, m.rec)
	require.Equal(t, sm.sender, m.state.sender)
	require.True(t, m.state.full)
	require.Equal(t, sm.digests, m.state.digests)
	require.Len(t, m.state.recs, 3)
	for i := range sm.recs {
		requireSameRecord(t, sm.recs[i], m.state.recs[i])
	}
}

func TestPullRoundTrip(t *testing.T) {
	p := &pullMsg{sender: "n1", owners: []string{"n0", "n7"}}
	m, err := decodeMessage(encodePull(p))
	require.NoError(t, err)
	require.Equal(t, p, m.pull)
	for _, bad := range [][]byte{
		{wireVersion, byte(msgPull)}, // no sender, no owners
		encodePull(&pullMsg{sender: "n1"}),
		encodePull(&pullMsg{owners: []string{"n0"}}),
		append(encodePull(&pullMsg{sender: "n1", owners: []string{"n0"}}), 0x12, 0x00), // empty owner
	} {
		_, err := decodeMessage(bad)
		require.ErrorIs(t, err, ErrMalformed)
	}
}

func mustLen(t *testing.T, r *record) int {
	t.Helper()
	b, err := encodeDelta(r)
	require.NoError(t, err)
	return len(b)
}

func requireSameRecord(t *testing.T, want, got *record) {
	t.Helper()
	require.Equal(t, want.owner, got.owner)
	require.Equal(t, want.ver, got.ver)
	require.Equal(t, want.key, got.key)
	require.Equal(t, want.tomb, got.tomb)
	if want.tomb {
		return
	}
	require.Equal(t, want.stamp, got.stamp)
	require.True(t, proto.Equal(want.part, got.part), "participant payload")
	require.True(t, proto.Equal(want.room, got.room), "room payload")
	require.Equal(t, want.perm == nil, got.perm == nil, "subscription permission present")
	require.True(t, proto.Equal(want.perm, got.perm), "subscription permission")
}

// TestWirePermission: a participant's subscription permission travels with its record; an
// empty one (nobody may subscribe) stays distinct from none (everyone may).
func TestWirePermission(t *testing.T) {
	perms := []*livekit.SubscriptionPermission{
		nil,
		{},
		{AllParticipants: true},
		{TrackPermissions: []*livekit.TrackPermission{
			{ParticipantIdentity: "bob", TrackSids: []string{"TR_valice"}},
			{ParticipantSid: "PA_carol", AllTracks: true}}},
	}
	for _, perm := range perms {
		r := &record{owner: "node-a", ver: version{5, 1},
			key:  entryKey{kind: kindParticipant, room: "lobby", identity: "alice"},
			part: richParticipant("alice"), perm: perm}
		b, err := encodeDelta(r)
		require.NoError(t, err)
		m, err := decodeMessage(b)
		require.NoError(t, err)
		requireSameRecord(t, r, m.rec)
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	good, err := encodeDelta(part("A", 1, 1, "alice"))
	require.NoError(t, err)
	rec := func(fields ...[]byte) []byte {
		b := []byte{wireVersion, byte(msgDelta)}
		for _, f := range fields {
			b = append(b, f...)
		}
		return b
	}
	str := func(num protowire.Number, s string) []byte { return appendString(nil, num, s) }
	vint := func(num protowire.Number, v uint64) []byte { return appendVarint(nil, num, v) }
	payload := func(m proto.Message) []byte {
		b, _ := proto.Marshal(m)
		return appendBytes(nil, 9, b)
	}
	alice := payload(&livekit.ParticipantInfo{Identity: "alice"})
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"one byte", []byte{wireVersion}, ErrMalformed},
		{"future version", append([]byte{2}, good[1:]...), ErrUnsupportedVersion},
		{"unknown type", []byte{wireVersion, 9}, ErrMalformed},
		{"truncated", good[:len(good)-3], ErrMalformed},
		{"no owner", rec(vint(2, 1), vint(3, 1), vint(4, 2), str(5, "r"), str(6, "alice"), alice), ErrMalformed},
		{"no version", rec(str(1, "A"), vint(4, 2), str(5, "r"), str(6, "alice"), alice), ErrMalformed},
		{"bad kind", rec(str(1, "A"), vint(2, 1), vint(3, 1), vint(4, 7), str(5, "r"), alice), ErrMalformed},
		{"no room", rec(str(1, "A"), vint(2, 1), vint(3, 1), vint(4, 2), str(6, "alice"), alice), ErrMalformed},
		{"participant without identity", rec(str(1, "A"), vint(2, 1), vint(3, 1), vint(4, 2), str(5, "r"), alice), ErrMalformed},
		{"identity mismatch", rec(str(1, "A"), vint(2, 1), vint(3, 1), vint(4, 2), str(5, "r"), str(6, "mallory"), alice), ErrMalformed},
		{"garbage payload", rec(str(1, "A"), vint(2, 1), vint(3, 1), vint(4, 2), str(5, "r"), str(6, "alice"), appendBytes(nil, 9, []byte{0xff, 0xff})), ErrMalformed},
		{"room with identity", rec(str(1, "A"), vint(2, 1), vint(3, 1), vint(4, 1), str(5, "r"), str(6, "x")), ErrMalformed},
		{"room name mismatch", rec(str(1, "A"), vint(2, 1), vint(3, 1), vint(4, 1), str(5, "r"), payload(&livekit.Room{Name: "other"})), ErrMalformed},
		{"state without sender", []byte{wireVersion, byte(msgState)}, ErrMalformed},
		{"state with bad record", append(append([]byte{wireVersion, byte(msgState)}, str(1, "A")...), appendBytes(nil, 3, []byte{0x0a})...), ErrMalformed},
		{"digest without epoch", append(append([]byte{wireVersion, byte(msgState)}, str(1, "A")...), appendBytes(nil, 4, str(1, "B"))...), ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeMessage(tc.b)
			require.Error(t, err)
			require.True(t, errors.Is(err, tc.want), "got %v", err)
		})
	}
	// A tombstone needs no payload, and unknown fields are skipped (forward compatibility).
	m, err := decodeMessage(rec(str(1, "A"), vint(2, 1), vint(3, 1), vint(4, 2), str(5, "r"), str(6, "bob"), vint(7, 1), str(99, "future")))
	require.NoError(t, err)
	require.True(t, m.rec.tomb)
}

func FuzzDecodeMessage(f *testing.F) {
	seeds := []*record{part("A", 1, 1, "alice"), tomb("B", 2, 3, "bob"),
		{owner: "A", ver: version{1, 2}, key: entryKey{kind: kindRoom, room: "r"}, room: &livekit.Room{Name: "r", Metadata: "m"}}}
	for _, r := range seeds {
		b, err := encodeDelta(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	withPerm := part("A", 1, 4, "carol")
	withPerm.perm = &livekit.SubscriptionPermission{TrackPermissions: []*livekit.TrackPermission{
		{ParticipantIdentity: "bob", TrackSids: []string{"TR_1"}}}}
	b, err := encodeDelta(withPerm)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	full := seeds[0]
	full.part = richParticipant("alice")
	st, err := encodeState(&stateMsg{sender: "A", full: true, recs: []*record{full, seeds[1]},
		digests: []digest{{owner: "A", epoch: 1, hw: 2, hash: 3}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(st)
	f.Add(encodePull(&pullMsg{sender: "n1", owners: []string{"n0", "n2"}}))
	f.Add([]byte{})
	f.Add([]byte{wireVersion, byte(msgState), 0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			if m.rec != nil || m.state != nil || m.pull != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		// Whatever decodes is valid, and re-encodes to something that decodes the same.
		if m.pull != nil {
			again, err := decodeMessage(encodePull(m.pull))
			if err != nil || again.pull.sender != m.pull.sender || len(again.pull.owners) != len(m.pull.owners) {
				t.Fatalf("pull round trip: %v", err)
			}
			return
		}
		recs := []*record{m.rec}
		if m.state != nil {
			recs = m.state.recs
		}
		for _, r := range recs {
			if err := validateRecord(r); err != nil {
				t.Fatalf("decoded an invalid record: %v", err)
			}
			if !r.tomb && r.part == nil && r.room == nil {
				t.Fatal("live record without payload")
			}
			again, err := encodeDelta(r)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			m2, err := decodeMessage(again)
			if err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			requireSameRecord(t, r, m2.rec)
		}
	})
}
