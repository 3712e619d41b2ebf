package sfu

import (
	"errors"
	"io"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/edgemesh/edge/sfu/codec"
)

const (
	// SenderReportInterval is how often a down-track sends an RTCP sender
	// report to its subscriber.
	SenderReportInterval = time.Second
	// srHistory is how many sent sender reports are remembered to compute the
	// round-trip time from the subscriber's receiver reports (RFC 3550 §6.4.1).
	srHistory = 8
)

// sentSR is one sender report sent to the subscriber.
type sentSR struct {
	ntpMiddle uint32 // middle 32 bits of its NTP timestamp (echoed as LSR)
	sentAt    int64  // unix ns
}

// reportState is the RTCP bookkeeping of a down-track; guarded by DownTrack.mu.
type reportState struct {
	srs          [srHistory]sentSR
	srNext       int
	fractionLost float64
	totalLost    uint32
	jitter       time.Duration
	rtt          time.Duration
	lastRR       time.Time
}

// DownTrackStats is a snapshot of a down-track's counters and of what its
// subscriber reported.
type DownTrackStats struct {
	PacketsSent, BytesSent uint64 // retransmissions included
	PacketsDropped         uint64
	NACKs                  uint64 // NACKed sequence numbers received
	Retransmits            uint64 // NACKs answered
	RetransmitMisses       uint64 // NACKs for packets no longer cached
	PLIs                   uint64 // PLI/FIR received
	KeyframeRequests       uint64 // keyframe requests sent to the source
	SenderReports          uint64 // RTCP sender reports sent
	CurrentLayer, MaxLayer int32
	Paused                 bool
	// From the subscriber's latest receiver report:
	FractionLost       float64       // 0..1 since its previous report
	PacketsLost        uint32        // cumulative
	Jitter             time.Duration // interarrival jitter
	RTT                time.Duration // round trip, from LSR/DLSR
	LastReceiverReport time.Time     // zero if none yet
}

// Stats returns a snapshot of the down-track's statistics.
func (d *DownTrack) Stats() DownTrackStats {
	d.mu.Lock()
	st := DownTrackStats{
		CurrentLayer:       d.fwd.current,
		MaxLayer:           d.fwd.maxLayer,
		Paused:             d.fwd.paused,
		FractionLost:       d.reports.fractionLost,
		PacketsLost:        d.reports.totalLost,
		Jitter:             d.reports.jitter,
		RTT:                d.reports.rtt,
		LastReceiverReport: d.reports.lastRR,
	}
	d.mu.Unlock()
	st.PacketsSent = d.stats.packetsSent.Load()
	st.BytesSent = d.stats.bytesSent.Load()
	st.PacketsDropped = d.stats.packetsDropped.Load()
	st.NACKs = d.stats.nacks.Load()
	st.Retransmits = d.stats.retransmits.Load()
	st.RetransmitMisses = d.stats.retransmitMisses.Load()
	st.PLIs = d.stats.plis.Load()
	st.KeyframeRequests = d.stats.keyframeRequests.Load()
	st.SenderReports = d.stats.senderReports.Load()
	return st
}

// SetRTPSender hands the down-track the sender pion created for it
// (pc.AddTrack). It starts the RTCP read loop (NACK, PLI/FIR, receiver
// reports) and registers with the report clock; both end on Close. Calls after the
// first, or after Close, are ignored.
func (d *DownTrack) SetRTPSender(s *webrtc.RTPSender) {
	if s == nil {
		return
	}
	d.mu.Lock()
	if d.sender != nil || d.closed.Load() {
		d.mu.Unlock()
		return
	}
	d.sender = s
	d.clock.add(d, s)
	d.mu.Unlock()
	go d.rtcpLoop(s)
}

// rtcpLoop reads the subscriber's RTCP for this track until the sender stops.
func (d *DownTrack) rtcpLoop(s *webrtc.RTPSender) {
	buf := make([]byte, maxPacketSize)
	for {
		n, attrs, err := s.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) && !d.closed.Load() {
				d.log.Debug().Err(err).Msg("rtcp read loop ended")
			}
			return
		}
		// An interceptor that parsed the packet (the bandwidth estimator's) left the result in
		// attrs; parse only if none did.
		var pkts []rtcp.Packet
		if attrs != nil {
			pkts, err = attrs.GetRTCPPackets(buf[:n])
		} else {
			pkts, err = rtcp.Unmarshal(buf[:n])
		}
		if err != nil {
			continue
		}
		d.handleRTCP(pkts, time.Now())
	}
}

// handleRTCP acts on one compound RTCP packet from the subscriber.
func (d *DownTrack) handleRTCP(pkts []rtcp.Packet, now time.Time) {
	b := d.bound.Load()
	if b == nil {
		return
	}
	keyframe := false
	for _, pkt := range pkts {
		switch p := pkt.(type) {
		case *rtcp.PictureLossIndication:
			keyframe = keyframe || p.MediaSSRC == b.ssrc
		case *rtcp.FullIntraRequest:
			for _, e := range p.FIR {
				keyframe = keyframe || e.SSRC == b.ssrc
			}
		case *rtcp.TransportLayerNack:
			if p.MediaSSRC != b.ssrc {
				continue
			}
			for i := range p.Nacks {
				p.Nacks[i].Range(func(sn uint16) bool {
					d.retransmit(b, sn)
					return true
				})
			}
		case *rtcp.ReceiverReport:
			d.onReceptionReports(b, p.Reports, now)
		case *rtcp.SenderReport:
			d.onReceptionReports(b, p.Reports, now)
		}
	}
	if keyframe {
		d.counters.PLIsIn.Add(1)
		d.stats.plis.Add(1)
		d.mu.Lock()
		layer := d.fwd.keyframeLayer()
		d.mu.Unlock()
		if layer != LayerNone {
			d.stats.keyframeRequests.Add(1)
			d.source.RequestKeyframe(layer)
		}
	}
}

// retransmit answers a NACK for outgoing sequence number sn: it reads the
// source packet back from the source's cache and munges it exactly as it was
// munged the first time (same sequence number, timestamp and VP8 ids).
func (d *DownTrack) retransmit(b *binding, sn uint16) {
	d.counters.NACKsIn.Add(1)
	d.stats.nacks.Add(1)
	d.mu.Lock()
	e, ok := d.seq.lookup(sn)
	paused := d.fwd.paused
	d.mu.Unlock()
	if paused {
		return // forwarding resumes at a keyframe: old packets are of no use (and would load a congested link)
	}
	if !ok || d.closed.Load() {
		d.missed()
		return
	}
	s := d.scratch.Get().(*scratch)
	defer d.scratch.Put(s)
	n, err := d.source.ReadPacket(int32(e.layer), e.srcSN, s.raw[:])
	if err != nil {
		d.missed()
		return
	}
	if !d.retransmitAllowed(n) {
		return // over the allocator's retransmission budget (downtrack_alloc.go)
	}
	hdrLen, err := s.src.Unmarshal(s.raw[:n])
	if err != nil || hdrLen > n {
		d.missed()
		return
	}
	payload := s.raw[hdrLen:n]
	if s.src.Padding && len(payload) > 0 {
		pad := int(payload[len(payload)-1])
		if pad > len(payload) {
			d.missed()
			return
		}
		payload = payload[:len(payload)-pad]
	}
	var vp8 *codec.VP8
	if e.hasVP8 {
		if codec.ParseVP8(payload, &s.vp8) != nil {
			d.missed()
			return
		}
		vp8 = &s.vp8
	}
	if d.send(b, s, &s.src, payload, e.outSN, e.ts, vp8, e.vp8) {
		d.counters.Retransmits.Add(1)
		d.stats.retransmits.Add(1)
	}
}

func (d *DownTrack) missed() {
	d.counters.RetransmitMisses.Add(1)
	d.stats.retransmitMisses.Add(1)
}

// onReceptionReports records the subscriber's reception report about this
// track: loss, jitter and, from LSR/DLSR, the round-trip time (RFC 3550 §6.4.1).
func (d *DownTrack) onReceptionReports(b *binding, reports []rtcp.ReceptionReport, now time.Time) {
	for i := range reports {
		r := &reports[i]
		if r.SSRC != b.ssrc {
			continue
		}
		d.mu.Lock()
		st := &d.reports
		st.fractionLost = float64(r.FractionLost) / 256
		st.totalLost = r.TotalLost
		if d.codec.ClockRate > 0 {
			st.jitter = time.Duration(uint64(r.Jitter) * uint64(time.Second) / uint64(d.codec.ClockRate))
		}
		st.lastRR = now
		if r.LastSenderReport != 0 {
			for _, sr := range st.srs {
				if sr.sentAt != 0 && sr.ntpMiddle == r.LastSenderReport {
					delay := time.Duration(uint64(r.Delay) * uint64(time.Second) >> 16)
					if rtt := time.Duration(now.UnixNano()-sr.sentAt) - delay; rtt >= 0 {
						st.rtt = rtt
					}
					break
				}
			}
		}
		d.mu.Unlock()
	}
}

// buildSenderReport translates the publisher's last sender report for the
// forwarded layer into one for the subscriber: the NTP↔RTP mapping is moved
// to now and its RTP time shifted by the forwarder's timestamp offset, so the
// subscriber can keep this track in sync with the publisher's other tracks.
func (d *DownTrack) buildSenderReport(now time.Time) (*rtcp.SenderReport, bool) {
	b := d.bound.Load()
	if b == nil || d.codec.ClockRate == 0 {
		return nil, false
	}
	d.mu.Lock()
	layer, offset, ok := d.fwd.tsOffset()
	d.mu.Unlock()
	if !ok {
		return nil, false
	}
	src, ok := d.source.SenderReport(layer)
	if !ok {
		return nil, false
	}
	elapsed := now.Sub(src.Arrival)
	if elapsed < 0 {
		elapsed = 0
	}
	ntp := src.NTPTime + durationToNTP(elapsed)
	ticks := uint32(uint64(elapsed) / 1000 * uint64(d.codec.ClockRate) / 1_000_000)
	sr := &rtcp.SenderReport{
		SSRC:        b.ssrc,
		NTPTime:     ntp,
		RTPTime:     src.RTPTime + ticks - offset,
		PacketCount: uint32(d.stats.packetsSent.Load()),
		OctetCount:  uint32(d.stats.payloadBytes.Load()),
	}
	d.mu.Lock()
	d.reports.srs[d.reports.srNext] = sentSR{ntpMiddle: uint32(ntp >> 16), sentAt: now.UnixNano()}
	d.reports.srNext = (d.reports.srNext + 1) % srHistory
	d.mu.Unlock()
	return sr, true
}

// durationToNTP converts a non-negative duration to the 32.32 fixed-point
// NTP format.
func durationToNTP(d time.Duration) uint64 {
	secs := uint64(d / time.Second)
	frac := uint64(d % time.Second)
	return secs<<32 | (frac<<32)/uint64(time.Second)
}
