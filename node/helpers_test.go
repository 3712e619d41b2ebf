package node

import (
	"testing"

	"github.com/rs/zerolog"
)

func testLogger(t *testing.T) zerolog.Logger {
	t.Helper()
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
}

func testLoggerF(f *testing.F) zerolog.Logger {
	f.Helper()
	return zerolog.Nop()
}
