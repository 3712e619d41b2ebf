package browser_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trackPermission is one entry of edgeTest.permissions().
type trackPermission struct {
	TrackSID    string `json:"trackSid"`
	Participant string `json:"participant"`
	Status      string `json:"status"`
}

// TestBrowserSubscriptionPermission: a livekit-client publisher lets nobody subscribe to its
// tracks; the subscriber page's SDK is told (SubscriptionPermissionUpdate: each publication's
// permission status is "not_allowed") and receives no media. Once the publisher lets everyone
// subscribe, the status turns "allowed" and the video decodes.
func TestBrowserSubscriptionPermission(t *testing.T) {
	n, publisher, subscriber := nodeAndTwoTabs(t)

	const room = "browser-permission"
	joinRoom(t, publisher, n.URL(), joinToken(t, room, "publisher"), false)
	_, err := eval[bool](publisher, evalTimeout, "edgeTest.allowSubscribers(false)")
	require.NoError(t, err)
	published, err := eval[int](publisher, joinTimeout, "edgeTest.publish()")
	require.NoError(t, err)
	require.Equal(t, 2, published, "publisher tracks")
	joinRoom(t, subscriber, n.URL(), joinToken(t, room, "subscriber"), false)

	statuses := func(c *assert.CollectT, want string) {
		perms, err := eval[[]trackPermission](subscriber, evalTimeout, "edgeTest.permissions()")
		if !assert.NoError(c, err) {
			return
		}
		if assert.Len(c, perms, 2, "publications the subscriber knows: %+v", perms) {
			for _, p := range perms {
				assert.Equal(c, want, p.Status, "track %s of %s", p.TrackSID, p.Participant)
			}
		}
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) { statuses(c, "not_allowed") },
		mediaTimeout, 500*time.Millisecond, "the subscriber's SDK was not told it may not subscribe")
	st, err := eval[pageStats](subscriber, evalTimeout, "edgeTest.stats()")
	require.NoError(t, err)
	require.Zero(t, st.VideoPacketsReceived+st.AudioPacketsReceived, "media reached a subscriber that may not have it: %+v", st)

	_, err = eval[bool](publisher, evalTimeout, "edgeTest.allowSubscribers(true)")
	require.NoError(t, err)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		statuses(c, "allowed")
		st, err := eval[pageStats](subscriber, evalTimeout, "edgeTest.stats()")
		if assert.NoError(c, err) {
			assert.Positive(c, st.VideoFramesDecoded, "video frames decoded once allowed")
		}
	}, mediaTimeout, 500*time.Millisecond, "the subscriber did not get the tracks once allowed")
}
