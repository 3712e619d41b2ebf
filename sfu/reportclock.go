package sfu

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// maxReportsPerCompound bounds the sender reports sent in one compound RTCP
// packet: 28 bytes each, so 30 stay far below a path MTU.
const maxReportsPerCompound = 30

// ReportClock sends the RTCP sender reports of many down-tracks from one
// goroutine: every interval it builds each registered down-track's report and
// writes those of one subscriber connection as one compound packet. A
// goroutine and a ticker per down-track cost a loaded node a goroutine
// wake-up per subscribed track per second, and a packet (encryption, system
// call) per report.
//
// The goroutine runs while the clock has down-tracks and ends with the last.
// Safe for concurrent use.
type ReportClock struct {
	interval time.Duration
	goAdd    func() bool
	goDone   func()

	mu      sync.Mutex // guards tracks and running
	tracks  map[*DownTrack]*webrtc.RTPSender
	running bool
	idle    chan struct{} // capacity 1: the last down-track was removed
}

// NewReportClock returns a clock that reports every interval. goAdd, if not
// nil, is called before the clock starts its goroutine (false: do not start,
// the owner is shutting down) and goDone when the goroutine ends, so that an
// owner can wait for it.
func NewReportClock(interval time.Duration, goAdd func() bool, goDone func()) *ReportClock {
	if goAdd == nil {
		goAdd = func() bool { return true }
	}
	if goDone == nil {
		goDone = func() {}
	}
	return &ReportClock{interval: interval, goAdd: goAdd, goDone: goDone,
		tracks: make(map[*DownTrack]*webrtc.RTPSender), idle: make(chan struct{}, 1)}
}

// add registers d, which sends through s, until remove.
func (c *ReportClock) add(d *DownTrack, s *webrtc.RTPSender) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		if !c.goAdd() {
			return
		}
		c.running = true
		go c.run()
	}
	c.tracks[d] = s
}

// remove forgets d.
func (c *ReportClock) remove(d *DownTrack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tracks, d)
	if len(c.tracks) == 0 && c.running {
		select {
		case c.idle <- struct{}{}:
		default:
		}
	}
}

type reportMember struct {
	d *DownTrack
	s *webrtc.RTPSender
}

// reportBatch is the reports of one subscriber connection in one tick.
type reportBatch struct {
	tr      *webrtc.DTLSTransport
	pkts    []rtcp.Packet
	sources []*DownTrack
}

func (c *ReportClock) run() {
	defer c.goDone()
	t := time.NewTicker(c.interval)
	defer t.Stop()
	var (
		members []reportMember // reused
		batches []reportBatch
		index   = make(map[*webrtc.DTLSTransport]int)
	)
	for {
		var now time.Time
		select {
		case now = <-t.C:
		case <-c.idle:
		}
		c.mu.Lock()
		if len(c.tracks) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		if now.IsZero() {
			c.mu.Unlock()
			continue // a stale idle signal: down-tracks came back
		}
		for d, s := range c.tracks {
			members = append(members, reportMember{d, s})
		}
		c.mu.Unlock()
		// Built without c.mu: a down-track holds its own lock while it calls add.
		for _, m := range members {
			d := m.d
			sr, ok := d.buildSenderReport(now)
			if !ok {
				continue
			}
			tr := m.s.Transport()
			i, ok := index[tr]
			if !ok {
				i = len(batches)
				index[tr] = i
				if i < cap(batches) {
					batches = batches[:i+1]
				} else {
					batches = append(batches, reportBatch{})
				}
				batches[i].tr = tr
			}
			batches[i].pkts = append(batches[i].pkts, sr)
			batches[i].sources = append(batches[i].sources, d)
		}
		clear(members)
		members = members[:0]
		for i := range batches {
			batches[i].send()
		}
		batches = batches[:0]
		clear(index)
	}
}

// send writes the batch's reports, at most maxReportsPerCompound per compound
// packet, counts them, and empties the batch for reuse.
func (b *reportBatch) send() {
	for start := 0; start < len(b.pkts); start += maxReportsPerCompound {
		end := min(start+maxReportsPerCompound, len(b.pkts))
		if _, err := b.tr.WriteRTCP(b.pkts[start:end]); err != nil {
			continue
		}
		for _, d := range b.sources[start:end] {
			d.stats.senderReports.Add(1)
		}
	}
	clear(b.pkts)
	clear(b.sources)
	b.tr, b.pkts, b.sources = nil, b.pkts[:0], b.sources[:0]
}
