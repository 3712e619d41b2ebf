// Package browser holds the end-to-end test of an edge node with a real
// browser: headless Chromium runs the livekit-client JavaScript SDK (pinned in
// package.json), one page publishes the fake camera and microphone and a second
// page subscribes to them through the node.
//
// The package has no code of its own; everything is in the tests. See
// README.md for how to install Chromium and the SDK and how to run the test.
package browser
