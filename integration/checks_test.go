package integration

import "strings"

// reporter is the part of testing.T the stream checks use (so that they can be tested too).
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// maxReported bounds how many violations one check lists in its failure message.
const maxReported = 10

// firstMedia is the index of the first non-padding record, -1 if there is none.
func firstMedia(recs []rtpRecord) int {
	for i, r := range recs {
		if !r.padding {
			return i
		}
	}
	return -1
}

// checkContinuity asserts what a subscriber's decoder relies on across one down-track: a single
// SSRC, RTP sequence numbers strictly +1 from packet to packet (loopback has no real loss, so
// any gap or repeat is the SFU's doing) and timestamps that never go backwards (RFC 3550
// modular arithmetic, so a wrap is fine).
func checkContinuity(t reporter, recs []rtpRecord) {
	t.Helper()
	var bad []string
	for i := 1; i < len(recs) && len(bad) < maxReported; i++ {
		p, c := recs[i-1], recs[i]
		if c.ssrc != p.ssrc {
			bad = append(bad, sprintf("#%d: SSRC changed %d -> %d", i, p.ssrc, c.ssrc))
		}
		if c.seq != p.seq+1 {
			bad = append(bad, sprintf("#%d: seq %d -> %d (layer %d -> %d)", i, p.seq, c.seq, p.layer, c.layer))
		}
		if d := int32(c.ts - p.ts); d < 0 {
			bad = append(bad, sprintf("#%d: timestamp went back %d -> %d (%d ticks, layer %d -> %d)",
				i, p.ts, c.ts, d, p.layer, c.layer))
		}
	}
	if len(bad) > 0 {
		t.Errorf("stream continuity broken over %d packets:\n%s", len(recs), joinLines(bad))
	}
}

// layerSwitch is a point where the forwarded layer changed.
type layerSwitch struct {
	index    int
	from, to int
	rec      rtpRecord
}

// layerSwitches lists the points where the layer of consecutive media packets changes.
func layerSwitches(recs []rtpRecord) []layerSwitch {
	var out []layerSwitch
	prev := -1
	for i, r := range recs {
		if r.padding {
			continue
		}
		if prev >= 0 && r.layer != prev {
			out = append(out, layerSwitch{index: i, from: prev, to: r.layer, rec: r})
		}
		prev = r.layer
	}
	return out
}

// checkKeyframeSwitches asserts that every layer switch lands on the first packet of a
// keyframe of the new layer, with that layer's resolution.
func checkKeyframeSwitches(t reporter, recs []rtpRecord) {
	t.Helper()
	layers := simulcastLayers()
	var bad []string
	for _, s := range layerSwitches(recs) {
		r := s.rec
		switch {
		case !r.frameStart || !r.keyframe:
			bad = append(bad, sprintf("#%d: switch %d -> %d on a packet that does not start a keyframe; around it:\n%s",
				s.index, s.from, s.to, describeAround(recs, s.index)))
		case s.to < 0 || s.to >= len(layers):
			bad = append(bad, sprintf("#%d: switch to unknown layer %d", s.index, s.to))
		case r.width != layers[s.to].width || r.height != layers[s.to].height:
			bad = append(bad, sprintf("#%d: keyframe of layer %d is %dx%d", s.index, s.to, r.width, r.height))
		}
		if len(bad) >= maxReported {
			break
		}
	}
	if len(bad) > 0 {
		t.Errorf("bad layer switches:\n%s", joinLines(bad))
	}
}

// describeAround renders the records just before and after index i.
func describeAround(recs []rtpRecord, i int) string {
	var lines []string
	for j := max(0, i-3); j < min(len(recs), i+4); j++ {
		r := recs[j]
		mark := "   "
		if j == i {
			mark = "-> "
		}
		lines = append(lines, sprintf("%s#%d seq=%d ts=%d layer=%d frame=%d start=%v key=%v marker=%v",
			mark, j, r.seq, r.ts, r.layer, r.counter, r.frameStart, r.keyframe, r.marker))
	}
	return "      " + strings.Join(lines, "\n      ")
}
