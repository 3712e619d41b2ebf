package node

import (
	"fmt"
	"time"

	"github.com/edgemesh/edge/sfu/allocator"
	"github.com/edgemesh/edge/sfu/bwe"
)

// AllocationConfig tunes the stream allocator of every subscriber (YAML key "allocation").
// Zero fields take the defaults; DefaultConfig leaves them all zero.
type AllocationConfig struct {
	// Disabled turns the allocator off: every subscriber gets the layers it asks for, whatever
	// its link carries (no estimate, no probes, no pauses).
	Disabled bool `yaml:"disabled"`
	// InitialBitrate is a subscriber's estimate (bits/s) before anything is measured: its first
	// layers are chosen to fit it. Default 1.5 Mbit/s.
	InitialBitrate uint64 `yaml:"initial_bitrate"`
	// MinBitrate and MaxBitrate bound every estimate (bits/s). Defaults 50 kbit/s and 50 Mbit/s.
	MinBitrate uint64 `yaml:"min_bitrate"`
	MaxBitrate uint64 `yaml:"max_bitrate"`
	// ProbeBackoffMax caps the pause between failed probes, which bounds how long a
	// constrained subscriber takes to notice its link was lifted. Default 3s.
	ProbeBackoffMax time.Duration `yaml:"probe_backoff_max"`
	// HoldBase is how long a downgraded track stays below its former layer (doubling while it
	// flaps). Default 3s.
	HoldBase time.Duration `yaml:"hold_base"`
}

// validate reports the problems of a, each wrapping ErrInvalidConfig.
func (a AllocationConfig) validate() []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: allocation."+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	or := func(v, def uint64) uint64 {
		if v == 0 {
			return def
		}
		return v
	}
	initial := or(a.InitialBitrate, bwe.DefaultInitialBitrate)
	low, high := or(a.MinBitrate, bwe.DefaultMinBitrate), or(a.MaxBitrate, bwe.DefaultMaxBitrate)
	if low > high {
		add("min_bitrate (%d) is above max_bitrate (%d)", low, high)
	} else if initial < low || initial > high {
		add("initial_bitrate (%d) is outside [min_bitrate, max_bitrate] = [%d, %d]", initial, low, high)
	}
	if a.ProbeBackoffMax < 0 {
		add("probe_backoff_max must not be negative, got %s", a.ProbeBackoffMax)
	}
	if a.HoldBase < 0 {
		add("hold_base must not be negative, got %s", a.HoldBase)
	}
	return errs
}

func (a AllocationConfig) estimator() bwe.Config {
	return bwe.Config{InitialBitrate: a.InitialBitrate, MinBitrate: a.MinBitrate, MaxBitrate: a.MaxBitrate}
}

// allocationConfig is the allocation loops' configuration for a.
func (a AllocationConfig) allocationConfig() allocationConfig {
	c := defaultAllocationConfig()
	c.Disabled = a.Disabled
	c.BWE = a.estimator()
	c.Allocator = allocator.Config{ProbeBackoffMax: a.ProbeBackoffMax, HoldBase: a.HoldBase}
	return c
}
