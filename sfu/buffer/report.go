package buffer

import (
	"time"

	"github.com/pion/rtcp"
)

// SenderReport is the timing part of the publisher's latest RTCP sender
// report (RFC 3550 §6.4.1): NTPTime and RTPTime denote the same instant.
type SenderReport struct {
	NTPTime uint64 // 64-bit NTP timestamp
	RTPTime uint32 // RTP timestamp corresponding to NTPTime
	Arrival time.Time
}

// OnSenderReport records an RTCP SR from the publisher (for A/V sync
// translation downstream). Reports for another SSRC are ignored. Safe for
// concurrent use with every other method.
func (b *Buffer) OnSenderReport(sr *rtcp.SenderReport, arrival time.Time) {
	if sr == nil || sr.SSRC != b.ssrc {
		return
	}
	b.mu.Lock()
	b.sr = SenderReport{NTPTime: sr.NTPTime, RTPTime: sr.RTPTime, Arrival: arrival}
	b.hasSR = true
	b.mu.Unlock()
}

// LastSenderReport returns the latest sender report, and false if none has
// arrived yet. Safe for concurrent use with every other method.
func (b *Buffer) LastSenderReport() (SenderReport, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sr, b.hasSR
}
