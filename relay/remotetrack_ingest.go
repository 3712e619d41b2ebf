package relay

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/pion/rtcp"

	"github.com/edgemesh/edge/sfu"
	"github.com/edgemesh/edge/sfu/buffer"
)

// minRTPSize is the size of a fixed RTP header (RFC 3550 §5.1).
const minRTPSize = 12

// ingest pushes one relayed RTP packet of layer into the layer's buffer and
// fans it out to the sinks. raw is not retained. It does not allocate in
// steady state; it is called by the link's datagram reader (and, rarely, its
// oversize-stream reader), serialised per layer.
func (rt *RemoteTrack) ingest(layer int32, raw []byte, now time.Time) {
	if rt.closed.Load() || len(raw) < minRTPSize {
		return
	}
	rl := &rt.layers[layer]
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rt.closed.Load() { // closed while waiting for the lock: take no hold
		return
	}
	b := rl.buf.Load()
	if b == nil || rl.restart.Load() || rl.tooOld >= tooOldRestart {
		rl.restart.Store(false)
		rl.tooOld = 0
		rl.nack.reset()
		b = buffer.New(buffer.Params{
			SSRC:      binary.BigEndian.Uint32(raw[8:12]),
			ClockRate: rt.codec.ClockRate,
			MimeType:  rt.codec.MimeType,
		})
		rl.buf.Store(b)
	}
	p, err := b.Push(raw, now)
	if err != nil {
		if errors.Is(err, buffer.ErrTooOld) {
			rl.tooOld++
		}
		return // duplicate, too old or invalid: counted by the buffer
	}
	rl.tooOld = 0
	rl.nack.received(p.ExtSeq, p.Arrival)
	rt.beginFrame(rl, p, now)
	rt.sinks.WriteRTP(p, layer)
	rt.endFrame(rl, p)
}

// sendNACKs NACKs the due missing packets of every layer on l (housekeeping)
// and returns the scratch slice for reuse.
func (rt *RemoteTrack) sendNACKs(l *link, slot uint64, now time.Time, rtt time.Duration, scratch []uint16) []uint16 {
	for layer := range int32(sfu.NumLayers) {
		rl := &rt.layers[layer]
		rl.mu.Lock()
		if rl.restart.Load() {
			rl.nack.reset()
		}
		out, lost := rl.nack.due(now.UnixNano(), rtt, scratch[:0])
		rl.mu.Unlock()
		scratch = out
		if lost > 0 {
			rt.peer.c.lost.Add(uint64(lost))
		}
		if len(out) > 0 {
			rt.peer.c.nacksSent.Add(uint64(len(out)))
			l.send(&nackMsg{Slot: slot, Layer: layer, SNs: out})
		}
	}
	return scratch
}

// onSenderReport records the publisher's sender report relayed by its node.
// The report was moved to the time it was sent; it arrived half a round trip
// later.
func (rt *RemoteTrack) onSenderReport(m *senderReportMsg, now time.Time, rtt time.Duration) {
	b := rt.layers[m.Layer].buf.Load()
	if b == nil {
		return
	}
	b.OnSenderReport(&rtcp.SenderReport{SSRC: b.SSRC(), NTPTime: m.NTPTime, RTPTime: m.RTPTime}, now.Add(-rtt/2))
}

// Stats returns per-layer receive statistics of the relayed track and totals,
// in the shape of a local receiver's. FractionLost and Bitrate are over the
// interval since the previous call, so a track should have one periodic
// Stats caller.
func (rt *RemoteTrack) Stats() sfu.ReceiverStats {
	var st sfu.ReceiverStats
	var expected float64
	for layer := range int32(sfu.NumLayers) {
		b := rt.layers[layer].buf.Load()
		if b == nil {
			continue
		}
		bs := b.Stats()
		st.Layers = append(st.Layers, sfu.LayerStats{Layer: layer, SSRC: b.SSRC(), Stats: bs})
		st.PacketsReceived += bs.PacketsReceived
		st.PacketsLost += bs.PacketsLost
		st.Bytes += bs.Bytes
		st.Bitrate += bs.Bitrate
		st.Jitter = max(st.Jitter, bs.Jitter)
		w := float64(bs.PacketsReceived + bs.PacketsLost)
		st.FractionLost += bs.FractionLost * w
		expected += w
	}
	if expected > 0 {
		st.FractionLost /= expected
	}
	return st
}
