package relay

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Peer is another node as seen by this Endpoint: the handle through which
// this node subscribes to its tracks and sends it data. A Peer outlives its
// links: when the link dies while this node has subscriptions on it, the
// Peer re-dials with backoff and restores them; RemoteTracks continue.
//
// All methods are safe for concurrent use.
type Peer struct {
	ep  *Endpoint
	id  string
	log zerolog.Logger
	c   peerCounters

	// mu guards everything below. Lock order: Peer.mu before RemoteTrack.mu,
	// link.mu and Endpoint.mu.
	mu         sync.Mutex
	addr       string
	link       *link              // the link used for subscriptions and data; nil if none
	links      map[*link]struct{} // every live link, the secondary ones included
	tracks     map[string]*RemoteTrack
	connecting chan struct{} // non-nil while a dial runs; closed when it ends
	redialing  bool
}

func newPeer(e *Endpoint, id string) *Peer {
	return &Peer{
		ep:     e,
		id:     id,
		log:    e.log.With().Str("peer", id).Logger(),
		links:  map[*link]struct{}{},
		tracks: map[string]*RemoteTrack{},
	}
}

// NodeID returns the peer's node id.
func (p *Peer) NodeID() string { return p.id }

func (p *Peer) setAddr(addr string) {
	p.mu.Lock()
	p.addr = addr
	p.mu.Unlock()
}

func (p *Peer) setAddrIfUnknown(addr string) {
	p.mu.Lock()
	if p.addr == "" {
		p.addr = addr
	}
	p.mu.Unlock()
}

// connect returns the peer's link, dialing it if there is none. Concurrent
// callers share one dial.
func (p *Peer) connect(ctx context.Context) (*link, error) {
	for {
		p.mu.Lock()
		if l := p.link; l != nil {
			p.mu.Unlock()
			return l, nil
		}
		if ch := p.connecting; ch != nil {
			p.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("connect to %s: %w", p.id, context.Cause(ctx))
			}
		}
		addr := p.addr
		if addr == "" {
			p.mu.Unlock()
			return nil, fmt.Errorf("connect to %s: no address: %w", p.id, ErrLinkDown)
		}
		ch := make(chan struct{})
		p.connecting = ch
		p.mu.Unlock()

		l, err := p.ep.dialLink(ctx, p, addr)
		if err == nil {
			p.attach(l)
		}
		p.mu.Lock()
		p.connecting = nil
		p.mu.Unlock()
		close(ch)
		if err != nil {
			return nil, err
		}
	}
}

// attach adds a new link (dialed or accepted) and starts it. It becomes the
// peer's link if the peer has none, and this node's subscriptions are
// restored on it. When both nodes dialed each other at once, both prefer the
// link dialed by the node with the smaller id; the other one loses its
// subscriptions and idles out.
func (p *Peer) attach(l *link) {
	p.mu.Lock()
	p.links[l] = struct{}{}
	if p.link == nil || (p.preferred(l) && !p.preferred(p.link)) {
		p.link = l
		for _, rt := range p.tracks {
			rt.subscribeOn(l)
		}
	}
	p.mu.Unlock()
	if !l.start() {
		p.linkClosed(l)
	}
}

// preferred reports whether l is the link both nodes use when there are two:
// the one dialed by the node with the smaller id.
func (p *Peer) preferred(l *link) bool { return l.dialed == (p.ep.cfg.NodeID < p.id) }

// linkClosed forgets a link that ended; if it carried this node's
// subscriptions, they move to another live link or the peer is re-dialed.
func (p *Peer) linkClosed(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.links, l)
	if p.link != l {
		return
	}
	p.link = nil
	for next := range p.links {
		if !next.isClosed() {
			p.link = next
			break
		}
	}
	for _, rt := range p.tracks {
		rt.subscribeOn(p.link) // nil detaches until a link is back
	}
	if p.link == nil && len(p.tracks) > 0 && !p.redialing {
		if p.ep.goTracked(p.redial) {
			p.redialing = true
		}
	}
}

// redial dials the peer with exponential backoff while this node has
// subscriptions and no link to it. After RedialGiveUp it closes them.
func (p *Peer) redial() {
	cfg := &p.ep.cfg
	backoff := cfg.RedialMin
	since := time.Now()
	t := time.NewTimer(backoff)
	defer t.Stop()
	for {
		select {
		case <-p.ep.ctx.Done():
			p.stopRedial()
			return
		case <-t.C:
		}
		p.mu.Lock()
		done := p.link != nil || len(p.tracks) == 0
		if done {
			p.redialing = false
		}
		p.mu.Unlock()
		if done {
			return
		}
		p.c.redials.Add(1)
		ctx, cancel := context.WithTimeout(p.ep.ctx, 2*cfg.HandshakeTimeout)
		_, err := p.connect(ctx)
		cancel()
		if err == nil {
			backoff = cfg.RedialMin
		} else {
			p.log.Debug().Err(err).Dur("backoff", backoff).Msg("relay redial failed")
			if time.Since(since) > cfg.RedialGiveUp {
				p.log.Warn().Err(err).Msg("relay peer unreachable, closing its tracks")
				p.closeTracks(fmt.Errorf("peer %s unreachable: %w", p.id, ErrLinkDown))
			}
			backoff = min(2*backoff, cfg.RedialMax)
		}
		t.Reset(backoff)
	}
}

func (p *Peer) stopRedial() {
	p.mu.Lock()
	p.redialing = false
	p.mu.Unlock()
}

// needs reports whether this node uses l for subscriptions (idle check).
func (p *Peer) needs(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.link == l && len(p.tracks) > 0
}

// Subscribe returns the RemoteTrack of the peer's track sid, subscribing to
// it on first use: it waits for the peer's metadata (kind, codec, layers).
// Every caller for the same track gets the same RemoteTrack while it is
// open, so the track crosses the link once however many sinks it has. A
// RemoteTrack without sinks unsubscribes and closes Config.UnsubscribeDelay
// after Subscribe returned it: add a sink (sfu.NewDownTrack) promptly. Errors:
// ErrTrackNotFound (the peer does not publish it), ErrLinkDown, ErrClosed,
// or the context's. publisher, if known, is the id of the node that publishes
// the track; the peer uses it when it relays the track from there (a hub)
// and has not learnt of the track yet. It may be empty.
func (p *Peer) Subscribe(ctx context.Context, trackSid, publisher string) (*RemoteTrack, error) {
	p.mu.Lock()
	rt := p.tracks[trackSid]
	if rt == nil || rt.closed.Load() {
		if p.ep.isClosed() {
			p.mu.Unlock()
			return nil, fmt.Errorf("subscribe %s: %w", trackSid, ErrClosed)
		}
		rt = newRemoteTrack(p, trackSid, publisher)
		p.tracks[trackSid] = rt
	}
	p.mu.Unlock()

	l, err := p.connect(ctx)
	if err != nil {
		rt.close(err, false)
		return nil, fmt.Errorf("subscribe %s: %w", trackSid, err)
	}
	p.mu.Lock()
	if p.link == l && p.tracks[trackSid] == rt {
		rt.subscribeOn(l)
	}
	p.mu.Unlock()
	select {
	case <-rt.ready:
		return rt, nil
	case <-rt.done:
		return nil, fmt.Errorf("subscribe %s: %w", trackSid, rt.err())
	case <-ctx.Done():
		rt.lingerIfUnused() // unless another caller uses it, it goes away
		return nil, fmt.Errorf("subscribe %s: %w", trackSid, context.Cause(ctx))
	}
}

// forget removes a closed RemoteTrack.
func (p *Peer) forget(rt *RemoteTrack) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tracks[rt.sid] == rt {
		delete(p.tracks, rt.sid)
	}
}

func (p *Peer) track(sid string) *RemoteTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tracks[sid]
}

// onSubscribed binds the slot the peer assigned to the subscription.
func (p *Peer) onSubscribed(l *link, m *subscribedMsg) {
	if rt := p.track(m.TrackID); rt != nil {
		rt.subscribed(l, m)
	}
}

// onSubscribeError closes the subscription the peer refused.
func (p *Peer) onSubscribeError(l *link, m *subscribeErrorMsg) {
	if rt := p.track(m.TrackID); rt != nil && rt.onLink(l) {
		rt.close(fmt.Errorf("track %s on %s: %s: %w", m.TrackID, p.id, m.Reason, ErrTrackNotFound), false)
	}
}

// closeTracks closes every RemoteTrack of the peer with cause.
func (p *Peer) closeTracks(cause error) {
	p.mu.Lock()
	tracks := make([]*RemoteTrack, 0, len(p.tracks))
	for _, rt := range p.tracks {
		tracks = append(tracks, rt)
	}
	p.mu.Unlock()
	for _, rt := range tracks {
		rt.close(cause, false)
	}
}

// shutdown closes the peer's tracks and links (Endpoint.Close).
func (p *Peer) shutdown() {
	p.closeTracks(fmt.Errorf("peer %s: %w", p.id, ErrClosed))
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close(codeShutdown, "shutting down", ErrClosed)
	}
}

// SendData sends m to the peer (dialing it if needed): reliable messages on
// the link's ordered data stream, waiting for queue space until ctx ends;
// lossy ones as datagrams, dropped with ErrQueueFull when the link's send
// queue is full. Messages queued on a link that dies are lost.
func (p *Peer) SendData(ctx context.Context, m DataMessage) error {
	l, err := p.connect(ctx)
	if err != nil {
		return err
	}
	return l.sendData(&m, ctx.Done())
}

// Stats returns a snapshot of the peer's counters.
func (p *Peer) Stats() PeerStats {
	st := PeerStats{NodeID: p.id}
	p.c.fill(&st)
	p.mu.Lock()
	st.Connected = p.link != nil && !p.link.isClosed() // a closing link is no longer up
	st.Subscriptions = len(p.tracks)
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.mu.Lock()
		st.Served += len(l.feeds)
		l.mu.Unlock()
	}
	return st
}
