package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// sample is one line of the Prometheus text exposition format: a metric name, its labels and
// its value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape is a parsed /metrics page.
type scrape []sample

// sum adds the values of every series called name whose labels include all of match
// (nil matches every series). It reports false when no series matched.
func (s scrape) sum(name string, match map[string]string) (float64, bool) {
	var total float64
	found := false
next:
	for _, smp := range s {
		if smp.name != name {
			continue
		}
		for k, v := range match {
			if smp.labels[k] != v {
				continue next
			}
		}
		total += smp.value
		found = true
	}
	return total, found
}

// must is sum for a series the node is required to export.
func (s scrape) must(name string, match map[string]string) (float64, error) {
	v, ok := s.sum(name, match)
	if !ok {
		return 0, fmt.Errorf("%w: %s%v", errMetricMissing, name, match)
	}
	return v, nil
}

// fetchMetrics GETs url (a node's /metrics) and parses it.
func fetchMetrics(ctx context.Context, c *http.Client, url string) (scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics parses the Prometheus text format (version 0.0.4) as client_golang writes it:
// comment lines are skipped, a sample is `name{k="v",...} value [timestamp]`.
func parseMetrics(r io.Reader) (scrape, error) {
	var out scrape
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		smp, err := parseSampleLine(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
		out = append(out, smp)
	}
	return out, sc.Err()
}

func parseSampleLine(line string) (sample, error) {
	var smp sample
	rest := line
	if i := strings.IndexAny(line, "{ "); i >= 0 && line[i] == '{' {
		smp.name = line[:i]
		labels, after, err := parseLabels(line[i+1:])
		if err != nil {
			return sample{}, err
		}
		smp.labels, rest = labels, after
	} else if i >= 0 {
		smp.name, rest = line[:i], line[i:]
	} else {
		return sample{}, fmt.Errorf("no value in %q", line)
	}
	f := strings.Fields(rest)
	if len(f) < 1 || len(f) > 2 {
		return sample{}, fmt.Errorf("bad value part %q", rest)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return sample{}, fmt.Errorf("value: %w", err)
	}
	smp.value = v
	return smp, nil
}

// parseLabels parses `k="v",k2="v2"}` (the text after '{') and returns the labels and what
// follows the closing brace. Label values may contain \\, \" and \n escapes.
func parseLabels(s string) (map[string]string, string, error) {
	labels := make(map[string]string)
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return labels, s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, "", fmt.Errorf("bad label syntax at %q", s)
		}
		key := strings.TrimSpace(s[:eq])
		var val strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				if s[i] == 'n' {
					val.WriteByte('\n')
					continue
				}
			}
			val.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, "", fmt.Errorf("unterminated label value for %q", key)
		}
		labels[key] = val.String()
		s = s[i+1:]
	}
}
