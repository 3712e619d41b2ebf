package relay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/rs/zerolog"
)

// Queue sizes of a link (in items).
const (
	ctrlQueueSize = 4096
	dataQueueSize = 1024
)

// Housekeeping periods of a link.
const (
	tickInterval    = 10 * time.Millisecond // NACK generation
	refreshInterval = 250 * time.Millisecond
	reportInterval  = time.Second // ping, sender reports, layer sets, idle check
	dgLimitReprobe  = 10 * time.Second
)

// link is one QUIC connection with a peer, after the hello exchange. It
// carries both directions of the protocol: the tracks this node serves to the
// peer (feeds) and this node's subscriptions to the peer's tracks.
//
// Goroutines: a control reader, a control writer, a datagram reader, a media
// writer, a data writer, a uni-stream acceptor (plus one reader per accepted
// stream), a housekeeping ticker, and run, which cleans up once the link
// ends. Other goroutines hand work to the writers through bounded channels
// and never block on the network.
type link struct {
	ep     *Endpoint
	peer   *Peer
	c      *peerCounters
	conn   *quic.Conn
	ctrl   *quic.Stream
	ctrlIn *bufio.Reader
	log    zerolog.Logger
	dialed bool

	ctx    context.Context // ends when the link closes
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup // the link's goroutines but run
	closed atomic.Bool
	ended  chan struct{} // closed by run when cleanup is done

	ctrlOut chan []byte     // encoded control frames
	media   chan *packetBuf // outgoing media and lossy data datagrams
	dataOut chan []byte     // reliable data frames

	dgLimit    atomic.Int64 // largest datagram payload known to fit; 0 = unknown
	lastActive atomic.Int64 // unix ns of the latest data or subscription activity

	// remote maps the slots of this node's subscriptions on the link to their
	// tracks; a copy-on-write snapshot read per packet, replaced under mu.
	remote atomic.Pointer[map[uint64]*RemoteTrack]

	// mu guards feeds, feedSlots, pending, nextSlot, the close code and reason, and
	// writers of remote and closed.
	mu          sync.Mutex
	closeCode   quic.ApplicationErrorCode
	closeReason string
	feeds       map[string]*feed
	feedSlots   map[uint64]*feed
	pending     map[string]*pendingLookup // track sid -> its lookup under way
	nextSlot    uint64
}

func newLink(e *Endpoint, p *Peer, conn *quic.Conn, ctrl *quic.Stream, in *bufio.Reader, dialed bool) *link {
	l := &link{
		ep: e, peer: p, c: &p.c, conn: conn, ctrl: ctrl, ctrlIn: in, dialed: dialed,
		log:       p.log.With().Bool("dialed", dialed).Logger(),
		ended:     make(chan struct{}),
		ctrlOut:   make(chan []byte, ctrlQueueSize),
		media:     make(chan *packetBuf, e.cfg.SendQueue),
		dataOut:   make(chan []byte, dataQueueSize),
		feeds:     map[string]*feed{},
		pending:   map[string]*pendingLookup{},
		feedSlots: map[uint64]*feed{},
		nextSlot:  1,
	}
	l.ctx, l.cancel = context.WithCancelCause(conn.Context())
	l.remote.Store(&map[uint64]*RemoteTrack{})
	l.touch()
	return l
}

// start runs the link's goroutines; false if the endpoint is closing (the
// connection is closed then).
func (l *link) start() bool {
	if !l.ep.goTracked(l.run) {
		_ = l.conn.CloseWithError(codeShutdown, "shutting down")
		return false
	}
	for _, f := range []func(){l.ctrlReader, l.ctrlWriter, l.datagramReader, l.mediaWriter,
		l.dataWriter, l.uniAcceptor, l.housekeeping} {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			f()
		}()
	}
	l.c.links.Add(1)
	l.log.Debug().Msg("relay link up")
	return true
}

// run waits for the link to end, then detaches it from its feeds' sources
// and from its peer.
func (l *link) run() {
	<-l.ctx.Done()
	l.mu.Lock()
	l.closed.Store(true) // if the connection died on its own
	code, reason := l.closeCode, l.closeReason
	l.mu.Unlock()
	// Closing the connection unblocks every goroutine waiting on it.
	_ = l.conn.CloseWithError(code, reason)
	l.wg.Wait()
	l.mu.Lock()
	feeds := l.feeds
	l.feeds, l.feedSlots = map[string]*feed{}, map[uint64]*feed{}
	l.mu.Unlock()
	for _, f := range feeds {
		f.detach()
	}
	for {
		select {
		case b := <-l.media:
			l.ep.putBuf(b)
			continue
		default:
		}
		break
	}
	l.peer.linkClosed(l)
	close(l.ended)
	l.log.Debug().Err(context.Cause(l.ctx)).Msg("relay link down")
}

// close ends the link: run closes the connection with code and reason (sent
// to the peer). Idempotent and non-blocking; the first call decides the code.
func (l *link) close(code quic.ApplicationErrorCode, reason string, cause error) {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return
	}
	l.closed.Store(true)
	l.closeCode, l.closeReason = code, reason
	l.mu.Unlock()
	if cause == nil {
		cause = ErrClosed
	}
	l.cancel(cause)
}

// fail closes the link after a protocol violation by the peer, and counts it.
func (l *link) fail(err error) {
	if l.closed.Load() {
		return
	}
	code := codeFor(err)
	if code == codeProtocol {
		l.c.malformed.Add(1)
	}
	l.log.Warn().Err(err).Msg("closing relay link")
	l.close(code, err.Error(), err)
}

// codeFor maps an error to the application error code closing a link.
func codeFor(err error) quic.ApplicationErrorCode {
	switch {
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnauthenticated):
		return codeProtocol
	case errors.Is(err, ErrVersion):
		return codeVersion
	case errors.Is(err, ErrQueueFull):
		return codeOverload
	}
	return codeNormal
}

func (l *link) isClosed() bool { return l.closed.Load() }

func (l *link) touch() { l.lastActive.Store(time.Now().UnixNano()) }

// send queues a control message. It never blocks: if the control queue is
// full the peer has stopped reading, and the link is closed.
func (l *link) send(m message) {
	if l.closed.Load() {
		return
	}
	select {
	case l.ctrlOut <- appendMessage(nil, m):
	default:
		l.fail(fmt.Errorf("control queue: %w", ErrQueueFull))
	}
}

// ctrlWriter writes queued control frames to the control stream.
func (l *link) ctrlWriter() {
	for {
		select {
		case <-l.ctx.Done():
			return
		case b := <-l.ctrlOut:
			if _, err := l.ctrl.Write(b); err != nil {
				l.close(codeNormal, "", fmt.Errorf("write control stream: %w", err))
				return
			}
		}
	}
}

// ctrlReader reads and dispatches control messages until the link ends.
func (l *link) ctrlReader() {
	buf := make([]byte, maxFrameSize)
	for {
		frame, err := readFrame(l.ctrlIn, buf)
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				l.fail(err)
			} else {
				l.close(codeNormal, "", fmt.Errorf("read control stream: %w", err))
			}
			return
		}
		m, err := decodeMessage(frame[0], frame[1:])
		if err == nil && m != nil {
			err = l.handle(m)
		}
		if err != nil {
			l.fail(err)
			return
		}
	}
}

// handle acts on one control message from the peer.
func (l *link) handle(m message) error {
	switch m := m.(type) {
	case *helloMsg:
		return fmt.Errorf("hello after the handshake: %w", ErrMalformed)
	case *subscribeMsg:
		l.serveSubscribe(m)
	case *unsubscribeMsg:
		l.serveUnsubscribe(m.TrackID)
	case *keyframeMsg:
		if f := l.feedBySlot(m.Slot); f != nil {
			f.src.RequestKeyframe(m.Layer)
		}
	case *nackMsg:
		l.serveNACK(m)
	case *pingMsg:
		l.send(&pongMsg{ID: m.ID})
	case *pongMsg:
		if rtt := l.ep.sinceStart() - int64(m.ID); rtt >= 0 {
			l.c.rtt.Store(rtt)
		}
	case *subscribedMsg:
		l.peer.onSubscribed(l, m)
	case *subscribeErrorMsg:
		l.peer.onSubscribeError(l, m)
	case *senderReportMsg:
		if rt := l.remoteTrack(m.Slot); rt != nil {
			rt.onSenderReport(m, time.Now(), time.Duration(l.c.rtt.Load()))
		}
	case *trackEndedMsg:
		if rt := l.remoteTrack(m.Slot); rt != nil {
			rt.close(fmt.Errorf("track %s: %w", rt.sid, ErrTrackEnded), false)
		}
	case *layersMsg:
		if rt := l.remoteTrack(m.Slot); rt != nil {
			rt.available.Store(uint32(m.Layers))
		}
	}
	return nil
}

// remoteTrack returns the subscription of this node on slot, or nil.
func (l *link) remoteTrack(slot uint64) *RemoteTrack { return (*l.remote.Load())[slot] }

// setRemote maps slot to rt (nil removes the slot).
func (l *link) setRemote(slot uint64, rt *RemoteTrack) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := *l.remote.Load()
	if cur[slot] == rt {
		return
	}
	next := make(map[uint64]*RemoteTrack, len(cur)+1)
	for k, v := range cur {
		if k != slot {
			next[k] = v
		}
	}
	if rt != nil {
		next[slot] = rt
	}
	l.remote.Store(&next)
}

// housekeeping runs the link's periodic work: NACKs for this node's
// subscriptions (every tickInterval while there are any; the ticker slows to
// refreshInterval on a link without them), forward-set refreshes, pings,
// sender reports, layer sets and the idle check.
func (l *link) housekeeping() {
	interval := refreshInterval
	t := time.NewTicker(interval)
	defer t.Stop()
	var nacks []uint16
	lastRefresh, lastReport, lastReprobe := time.Now(), time.Time{}, time.Now()
	for {
		select {
		case <-l.ctx.Done():
			return
		case now := <-t.C:
			rtt := time.Duration(l.c.rtt.Load())
			remote := *l.remote.Load()
			for slot, rt := range remote {
				nacks = rt.sendNACKs(l, slot, now, rtt, nacks)
			}
			if want := tickInterval; len(remote) == 0 {
				if interval != refreshInterval {
					interval = refreshInterval
					t.Reset(interval)
				}
			} else if interval != want {
				interval = want
				t.Reset(interval)
			}
			if now.Sub(lastRefresh) >= refreshInterval-tickInterval {
				lastRefresh = now
				for _, f := range l.feedList() {
					f.refresh(now)
				}
			}
			if now.Sub(lastReprobe) >= dgLimitReprobe {
				lastReprobe = now
				l.dgLimit.Store(0)
			}
			if now.Sub(lastReport) >= reportInterval-tickInterval {
				lastReport = now
				l.report(now)
			}
		}
	}
}

// report does the once-a-second work.
func (l *link) report(now time.Time) {
	l.send(&pingMsg{ID: uint64(l.ep.sinceStart())})
	feeds := l.feedList()
	for _, f := range feeds {
		f.report(now)
	}
	idle := now.UnixNano()-l.lastActive.Load() > int64(l.ep.cfg.IdleTimeout)
	if idle && len(feeds) == 0 && !l.peer.needs(l) {
		l.log.Debug().Msg("relay link idle")
		l.close(codeIdle, "idle", fmt.Errorf("idle: %w", ErrClosed))
	}
}
