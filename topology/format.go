package topology

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// errWriter remembers the first write error so that renderers can write freely and check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}

// formatRate formats a rate in bytes per second as bits per second.
func formatRate(bytesPerSec float64) string {
	bits := bytesPerSec * 8
	switch {
	case bits >= 1e9:
		return fmt.Sprintf("%.2f Gbit/s", bits/1e9)
	case bits >= 1e6:
		return fmt.Sprintf("%.2f Mbit/s", bits/1e6)
	case bits >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", bits/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bits)
}

// formatRTT formats a round trip in milliseconds; "-" before the first measurement.
func formatRTT(ms float64) string {
	if ms <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", ms)
}

// formatLoss formats a loss percentage, marking a link that is down.
func formatLoss(l Link) string {
	if l.Down() {
		return "100% (down)"
	}
	return fmt.Sprintf("%.1f%%", l.LossPercent)
}

// formatUptime formats a duration with its two largest units ("3d4h", "2h5m", "4m10s", "12s");
// "-" for zero.
func formatUptime(d time.Duration) string {
	if d < time.Second {
		return "-"
	}
	s := int64(d / time.Second)
	days, hours, mins, secs := s/86400, s/3600%24, s/60%60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh%dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm%ds", mins, secs)
	}
	return fmt.Sprintf("%ds", secs)
}

// orDash returns s, or "-" when it is empty (tabwriter columns need a cell).
func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// clean replaces control characters (tabs and newlines would break the table layout) in text
// that comes from the mesh.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// regionName is how a region is shown; nodes without one form the region "".
func regionName(r string) string {
	if r == "" {
		return "(none)"
	}
	return r
}

// header is the one-line summary on top of the renderings.
func header(d Document) string {
	mode := d.Mode
	if mode == "" {
		mode = ModeDirect
	}
	gen := "unknown time"
	if !d.Generated.IsZero() {
		gen = d.Generated.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("mesh seen from %s at %s, relay mode %s: %d nodes, %d links, %d rooms, %d tracks",
		clean(orDash(d.Node)), gen, clean(string(mode)), len(d.Nodes), len(d.Links), len(d.Rooms), len(d.Tracks))
}

// hubsOf returns the region hubs of d's nodes when d's mode uses hubs, else an empty map.
func hubsOf(d Document) map[string]string {
	if d.Mode != ModeRegional {
		return map[string]string{}
	}
	return Hubs(d.Nodes)
}
