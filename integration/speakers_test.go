package integration

import (
	"testing"
)

// TestSpeakers: B learns that A is speaking (from the audio-level header extension A's
// SDK sends); when A mutes, A stops being a speaker.
func TestSpeakers(t *testing.T) {
	n := startNode(t)
	a := joinRoom(t, n, "speakers", "alice")
	b := joinRoom(t, n, "speakers", "bob")
	mic := publishMic(t, a)
	b.subscribed(t, mic.pub.SID())

	speaking := func() bool {
		for _, p := range b.room.ActiveSpeakers() {
			if p.Identity() == "alice" {
				return true
			}
		}
		return false
	}
	waitFor(t, speaking, func() string { return "bob never saw alice as an active speaker" })
	rp := b.remote(t, "alice")
	waitFor(t, func() bool { return rp.IsSpeaking() && rp.AudioLevel() > 0 },
		func() string { return sprintf("alice speaking=%v level=%v at bob", rp.IsSpeaking(), rp.AudioLevel()) })

	mic.pub.SetMuted(true)
	waitFor(t, func() bool { return !speaking() }, func() string { return "alice still an active speaker after muting" })
}
