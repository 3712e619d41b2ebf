package node

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu/allocator"
	"github.com/edgemesh/edge/sfu/bwe"
)

func TestAllocationConfigYAML(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.ApplyYAML(strings.NewReader(`
allocation:
  initial_bitrate: 800000
  min_bitrate: 100000
  max_bitrate: 8000000
  probe_backoff_max: 2s
  hold_base: 1s
`)))
	require.Equal(t, AllocationConfig{InitialBitrate: 800_000, MinBitrate: 100_000, MaxBitrate: 8_000_000,
		ProbeBackoffMax: 2 * time.Second, HoldBase: time.Second}, c.Allocation)
	ac := c.Allocation.allocationConfig()
	require.False(t, ac.Disabled)
	require.Equal(t, bwe.Config{InitialBitrate: 800_000, MinBitrate: 100_000, MaxBitrate: 8_000_000}, ac.BWE)
	require.Equal(t, allocator.Config{ProbeBackoffMax: 2 * time.Second, HoldBase: time.Second}, ac.Allocator)
	require.Equal(t, defaultAllocationConfig().Tick, ac.Tick, "what is not configurable keeps its default")

	require.ErrorIs(t, c.ApplyYAML(strings.NewReader("allocation:\n  initial_bitrat: 1\n")), ErrConfigFile,
		"unknown keys inside allocation are refused")

	d := DefaultConfig()
	require.NoError(t, d.ApplyYAML(strings.NewReader("allocation:\n  disabled: true\n")))
	require.True(t, d.Allocation.allocationConfig().Disabled)
}

// TestAllocationDisabled: without the allocator the node registers no estimators and starts no
// loops.
func TestAllocationDisabled(t *testing.T) {
	cfg := DevConfig()
	cfg.Standalone = true
	cfg.Allocation.Disabled = true
	n, err := New(cfg, zerolog.Nop())
	require.NoError(t, err)
	require.Nil(t, n.alloc.estimators())
	cfg.Allocation.Disabled = false
	n, err = New(cfg, zerolog.Nop())
	require.NoError(t, err)
	require.NotNil(t, n.alloc.estimators())
}
