package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// defaultClockTicks is USER_HZ on every mainstream Linux architecture; used when getconf fails.
const defaultClockTicks = 100

// clockTicks returns the kernel's USER_HZ (the unit of utime/stime in /proc/<pid>/stat), asking
// `getconf CLK_TCK` and falling back to 100.
func clockTicks(ctx context.Context) int64 {
	out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output()
	if err != nil {
		return defaultClockTicks
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || v <= 0 {
		return defaultClockTicks
	}
	return v
}

// procCPUTicks returns utime+stime of process pid (all its threads), in clock ticks.
func procCPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU extracts utime+stime (fields 14 and 15, proc(5)) from the contents of
// /proc/<pid>/stat. The command name (field 2) is parenthesised and may contain spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatCPU(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: stat: no command name", errNoProcStat)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	const utimeIdx, stimeIdx = 14 - 3, 15 - 3
	if len(f) <= stimeIdx {
		return 0, fmt.Errorf("%w: stat: %d fields after the command name", errNoProcStat, len(f))
	}
	u, err := strconv.ParseInt(f[utimeIdx], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: stat utime: %w", errNoProcStat, err)
	}
	s, err := strconv.ParseInt(f[stimeIdx], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: stat stime: %w", errNoProcStat, err)
	}
	return u + s, nil
}

// procRSS returns the resident set size (VmRSS) of process pid in bytes.
func procRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusRSS(b)
}

// parseStatusRSS extracts VmRSS from the contents of /proc/<pid>/status, in bytes.
func parseStatusRSS(b []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%w: VmRSS line %q", errNoProcStat, sc.Text())
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: VmRSS: %w", errNoProcStat, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%w: no VmRSS line", errNoProcStat)
}

// hostCPU is the machine-wide CPU time from the first line of /proc/stat, in clock ticks.
type hostCPU struct {
	busy, total int64
}

// readHostCPU reads the aggregate "cpu" line of /proc/stat.
func readHostCPU() (hostCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostCPU{}, err
	}
	return parseHostCPU(b)
}

// parseHostCPU parses the aggregate "cpu" line of /proc/stat: user nice system idle iowait irq
// softirq steal [guest guest_nice]. Guest time is already included in user/nice, so it is not
// added again; idle and iowait count as not busy.
func parseHostCPU(b []byte) (hostCPU, error) {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return hostCPU{}, fmt.Errorf("%w: /proc/stat cpu line %q", errNoProcStat, line)
	}
	var h hostCPU
	for i := 1; i <= 8; i++ {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return hostCPU{}, fmt.Errorf("%w: /proc/stat: %w", errNoProcStat, err)
		}
		h.total += v
		if i != 4 && i != 5 { // idle, iowait
			h.busy += v
		}
	}
	return h, nil
}

// busyFraction is the share of machine CPU time that was busy between a and b (0..1).
func busyFraction(a, b hostCPU) float64 {
	dt := b.total - a.total
	if dt <= 0 {
		return 0
	}
	return float64(b.busy-a.busy) / float64(dt)
}

// udpStats are the host's UDP counters from /proc/net/snmp (for this network namespace).
type udpStats struct {
	inDatagrams  uint64
	rcvbufErrors uint64 // datagrams dropped because a socket's receive buffer was full
}

// readUDPStats reads the Udp lines of /proc/net/snmp.
func readUDPStats() (udpStats, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return udpStats{}, err
	}
	return parseUDPStats(b)
}

// parseUDPStats finds the "Udp:" header line and the value line after it and picks
// InDatagrams and RcvbufErrors by name.
func parseUDPStats(b []byte) (udpStats, error) {
	var header []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		if len(f) != len(header) {
			return udpStats{}, fmt.Errorf("%w: Udp: %d names, %d values", errNoProcStat, len(header), len(f))
		}
		var u udpStats
		found := 0
		for i, name := range header {
			var dst *uint64
			switch name {
			case "InDatagrams":
				dst = &u.inDatagrams
			case "RcvbufErrors":
				dst = &u.rcvbufErrors
			default:
				continue
			}
			v, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return udpStats{}, fmt.Errorf("%w: Udp %s: %w", errNoProcStat, name, err)
			}
			*dst = v
			found++
		}
		if found != 2 {
			return udpStats{}, fmt.Errorf("%w: Udp: InDatagrams or RcvbufErrors missing", errNoProcStat)
		}
		return u, nil
	}
	return udpStats{}, fmt.Errorf("%w: no Udp lines", errNoProcStat)
}
