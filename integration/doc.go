// Package integration holds end-to-end tests that start real edge nodes on 127.0.0.1 and drive
// them with the real LiveKit Go SDK (github.com/livekit/server-sdk-go/v2), exactly as a
// customer's client would. The package has no production code: everything lives in _test.go
// files (harness, synthetic media, one file per behaviour under test).
//
// Run with: go test -race ./integration/
package integration
