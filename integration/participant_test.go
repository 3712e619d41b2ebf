package integration

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMuteMetadataLeave: B sees A's track mute and unmute, A's new metadata, name and
// attributes, and finally A leaving.
func TestMuteMetadataLeave(t *testing.T) {
	n := startNode(t)
	const room = "participant"
	a := joinRoom(t, n, room, "alice", withName("Alice"))
	b := joinRoom(t, n, room, "bob")

	mic := publishMic(t, a)
	sid := mic.pub.SID()
	b.subscribed(t, sid)
	rp := b.remote(t, "alice")
	require.Equal(t, "Alice", rp.Name())
	remotePub := func() bool {
		p := rp.GetTrackPublication(mic.pub.Source())
		return p != nil && p.SID() == sid
	}
	waitFor(t, remotePub, func() string { return "bob does not know alice's microphone" })
	isMuted := func() bool { return rp.GetTrackPublication(mic.pub.Source()).IsMuted() }
	require.False(t, isMuted(), "track muted before anyone muted it")

	t.Run("mute", func(t *testing.T) {
		mic.pub.SetMuted(true)
		waitFor(t, isMuted, func() string { return "bob never saw alice's microphone muted" })
		require.True(t, b.ev.has(&b.ev.muted, sid), "no OnTrackMuted at bob")

		mic.pub.SetMuted(false)
		waitFor(t, func() bool { return !isMuted() }, func() string { return "bob never saw the unmute" })
		require.True(t, b.ev.has(&b.ev.unmuted, sid), "no OnTrackUnmuted at bob")
	})

	t.Run("metadata", func(t *testing.T) {
		lp := a.room.LocalParticipant
		lp.SetMetadata(`{"mood":"curious"}`)
		waitFor(t, func() bool { return rp.Metadata() == `{"mood":"curious"}` },
			func() string { return sprintf("bob sees metadata %q", rp.Metadata()) })
		require.True(t, b.ev.has(&b.ev.metadataChanged, "alice"), "no OnMetadataChanged at bob")

		lp.SetName("Alice Liddell")
		waitFor(t, func() bool { return rp.Name() == "Alice Liddell" },
			func() string { return sprintf("bob sees name %q", rp.Name()) })

		lp.SetAttributes(map[string]string{"role": "speaker", "lang": "en"})
		waitFor(t, func() bool {
			at := rp.Attributes()
			return at["role"] == "speaker" && at["lang"] == "en"
		}, func() string { return sprintf("bob sees attributes %v", rp.Attributes()) })
		require.True(t, b.ev.has(&b.ev.attributesChanged, "alice"), "no OnAttributesChanged at bob")

		// Setting an attribute to "" deletes it; the others stay.
		lp.SetAttributes(map[string]string{"lang": ""})
		waitFor(t, func() bool {
			at := rp.Attributes()
			_, has := at["lang"]
			return !has && at["role"] == "speaker"
		}, func() string { return sprintf("after deleting lang bob sees attributes %v", rp.Attributes()) })

		// Metadata and name survive the attribute updates.
		require.Equal(t, `{"mood":"curious"}`, rp.Metadata())
		require.Equal(t, "Alice Liddell", rp.Name())
	})

	t.Run("leave", func(t *testing.T) {
		a.room.Disconnect()
		waitFor(t, func() bool { return b.ev.has(&b.ev.disconnected, "alice") },
			func() string { return "bob never got OnParticipantDisconnected for alice" })
		require.Nil(t, b.room.GetParticipantByIdentity("alice"))
	})
}
