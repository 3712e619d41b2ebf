package node

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTicks = 100

// cpuMeter measures the process's CPU use between calls, from /proc/self/stat.
type cpuMeter struct {
	mu        sync.Mutex // guards the fields below
	lastTicks uint64
	lastAt    time.Time
	last      float64
}

// percent returns the CPU used since the previous call, in percent of one core (0 when
// unknown, e.g. on the first call or without /proc).
func (c *cpuMeter) percent() float64 {
	ticks, ok := processTicks()
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		return 0
	}
	if !c.lastAt.IsZero() && ticks >= c.lastTicks {
		if dt := now.Sub(c.lastAt).Seconds(); dt > 0 {
			c.last = float64(ticks-c.lastTicks) / clockTicks / dt * 100
		}
	}
	c.lastTicks, c.lastAt = ticks, now
	return c.last
}

// processTicks reads utime+stime of this process.
func processTicks() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	// Fields after the command name, which is in parentheses and may contain spaces.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + st, true
}
