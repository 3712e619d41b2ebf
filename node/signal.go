package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// maxSignalMessage bounds one signal message from a client.
const maxSignalMessage = 1 << 20

// signalQueueSize bounds the responses waiting for a slow client; a client that falls this far
// behind is disconnected rather than buffering without limit.
const signalQueueSize = 512

// joinParams are what a client asks for when it opens /rtc.
type joinParams struct {
	grants        *auth.ClaimGrants
	room          string
	autoSubscribe bool
	reconnect     bool
	sid           string
	protocol      int32
	sdk           string
	attributes    map[string]string
	metadata      string // v1: the client's own metadata, when its grant allows setting it
	remoteIP      netip.Addr

	// v1 ("single peer connection") joins: one peer connection, and the client may send its
	// first publisher offer and add-track requests inside the join request.
	singlePC       bool
	addTracks      []*livekit.AddTrackRequest
	publisherOffer *livekit.SessionDescription
}

func joinParamsFrom(r *http.Request, grants *auth.ClaimGrants) (joinParams, error) {
	q := r.URL.Query()
	p := joinParams{
		grants:        grants,
		room:          grants.Video.Room,
		autoSubscribe: q.Get("auto_subscribe") != "0",
		reconnect:     q.Get("reconnect") == "1",
		sid:           q.Get("sid"),
		sdk:           q.Get("sdk"),
	}
	if v := q.Get("protocol"); v != "" {
		pv, err := strconv.Atoi(v)
		if err != nil {
			return p, fmt.Errorf("%w: protocol %q", ErrBadRequest, v)
		}
		p.protocol = int32(pv)
	}
	if a := q.Get("attributes"); a != "" {
		raw, err := base64.URLEncoding.DecodeString(a)
		if err != nil {
			return p, fmt.Errorf("%w: attributes: %v", ErrBadRequest, err)
		}
		if err := json.Unmarshal(raw, &p.attributes); err != nil {
			return p, fmt.Errorf("%w: attributes: %v", ErrBadRequest, err)
		}
	}
	return p, nil
}

// paramsFunc reads a join request of one signaling version.
type paramsFunc func(*http.Request, *auth.ClaimGrants) (joinParams, error)

// handleRTC is the v0 ("dual peer connection") signaling endpoint. A request that carries a
// join_request parameter is a single-peer-connection join (server-sdk-go sends those to /rtc).
func (n *Node) handleRTC(w http.ResponseWriter, r *http.Request) { n.serveSignal(w, r, paramsFor(r)) }

func paramsFor(r *http.Request) paramsFunc {
	if r.URL.Query().Has("join_request") {
		return joinParamsV1
	}
	return joinParamsFrom
}

// handleRTCv1 is the v1 ("single peer connection") signaling endpoint.
func (n *Node) handleRTCv1(w http.ResponseWriter, r *http.Request) { n.serveSignal(w, r, joinParamsV1) }

func (n *Node) serveSignal(w http.ResponseWriter, r *http.Request, params paramsFunc) {
	grants, err := n.keys.verifyJoin(tokenFromRequest(r))
	var p joinParams
	if err == nil {
		p, err = params(r, grants)
	}
	if err == nil && n.draining.Load() && !p.reconnect {
		err = ErrDraining
	}
	if err != nil {
		n.metrics.authFailures.Inc()
		n.log.Info().Err(err).Str("remote", r.RemoteAddr).Msg("join refused")
		writeError(w, err)
		return
	}
	p.remoteIP = remoteIP(r)
	if !n.goAdd() {
		writeError(w, ErrNodeClosed)
		return
	}
	defer n.wg.Done()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		n.log.Info().Err(err).Msg("websocket upgrade failed")
		return
	}
	ws.SetReadLimit(maxSignalMessage)
	log := n.log.With().Str("room", p.room).Str("participant", grants.Identity).Logger()
	sc := newSignalConn(ws, log)
	n.wg.Add(1) // within the handler's own registration, so never after Wait began
	go func() { defer n.wg.Done(); sc.writeLoop() }()

	part, err := n.join(p, sc)
	if err != nil {
		log.Info().Err(err).Msg("join failed")
		sc.closeWith(websocket.StatusPolicyViolation, err.Error())
		return
	}
	sc.readLoop(part)
}

// signalConn is one client's WebSocket. One goroutine writes (writeLoop), one reads (readLoop);
// send never blocks. Until release is called with the join (or reconnect) response, responses
// are held back, so that response is always the first message the client reads (clients treat
// the first message as the answer to their join) and nothing queued meanwhile is lost.
type signalConn struct {
	ws  *websocket.Conn
	log zerolog.Logger
	out chan *livekit.SignalResponse

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex // guards held and holding, and orders enqueueing
	held    []*livekit.SignalResponse
	holding bool

	closeOnce sync.Once
	done      chan struct{} // closed when the connection is finished
}

func newSignalConn(ws *websocket.Conn, log zerolog.Logger) *signalConn {
	ctx, cancel := context.WithCancel(context.Background())
	return &signalConn{ws: ws, log: log, out: make(chan *livekit.SignalResponse, signalQueueSize),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), holding: true}
}

// send queues a response. It reports false when the connection is closed or the client is too
// slow; in the latter case the connection is closed.
func (c *signalConn) send(msg *livekit.SignalResponse) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	c.mu.Lock()
	var ok bool
	if c.holding {
		ok = len(c.held) < signalQueueSize
		if ok {
			c.held = append(c.held, msg)
		}
	} else {
		ok = c.enqueueLocked(msg)
	}
	c.mu.Unlock()
	if !ok {
		c.log.Warn().Msg("signal queue full, closing slow client")
		c.closeWith(websocket.StatusTryAgainLater, "signal queue full")
	}
	return ok
}

func (c *signalConn) enqueueLocked(msg *livekit.SignalResponse) bool {
	select {
	case c.out <- msg:
		return true
	default:
		return false
	}
}

// release sends first, then everything held back since the connection opened.
func (c *signalConn) release(first *livekit.SignalResponse) {
	c.mu.Lock()
	ok := c.releaseLocked(first)
	c.mu.Unlock()
	if !ok {
		c.closeWith(websocket.StatusTryAgainLater, "signal queue full")
	}
}

func (c *signalConn) releaseLocked(first *livekit.SignalResponse) bool {
	if !c.holding {
		return first == nil || c.enqueueLocked(first)
	}
	c.holding = false
	held := c.held
	c.held = nil
	if first != nil && !c.enqueueLocked(first) {
		return false
	}
	for _, m := range held {
		if !c.enqueueLocked(m) {
			return false
		}
	}
	return true
}

func (c *signalConn) writeLoop() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case msg := <-c.out:
			if msg == nil {
				c.closeWith(websocket.StatusNormalClosure, "")
				return
			}
			b, err := proto.Marshal(msg)
			if err != nil {
				c.log.Error().Err(err).Msg("marshal signal response")
				continue
			}
			wctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
			err = c.ws.Write(wctx, websocket.MessageBinary, b)
			cancel()
			if err != nil {
				c.closeWith(websocket.StatusInternalError, "write failed")
				return
			}
		}
	}
}

// flushAndClose closes the connection after everything queued so far (e.g. a leave) has been
// written, waiting at most a second for that.
func (c *signalConn) flushAndClose(reason string) {
	c.mu.Lock()
	ok := c.releaseLocked(nil) && c.enqueueLocked(nil) // nil: writeLoop closes once it reaches it
	c.mu.Unlock()
	if !ok {
		c.closeWith(websocket.StatusNormalClosure, reason)
		return
	}
	select {
	case <-c.done:
	case <-time.After(time.Second):
		c.closeWith(websocket.StatusNormalClosure, reason)
	}
}

// lingerClose closes the connection once d has passed, or at once when stop is closed, unless
// the client closes it first. It is for a client that left: the client closes its own end
// right after its leave, and closing ours first races its SDK's reconnect logic (server-sdk-go
// v2.19 takes a close that arrives before its engine is marked closed for a lost connection,
// tries to resume, is told to reconnect, and joins again as a new session that lingers for
// seconds after the user left).
func (c *signalConn) lingerClose(d time.Duration, stop <-chan struct{}, reason string) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.done:
		return
	case <-t.C:
	case <-stop:
	}
	c.closeWith(websocket.StatusNormalClosure, reason)
}

// closeWith ends the connection. It does not wait for the client's half of the close handshake
// (that can take seconds with a client that is gone, and would hold up shutdown): whatever the
// client must know — a leave, say — has been written before, through the writer.
func (c *signalConn) closeWith(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		close(c.done)
		c.cancel()
		c.log.Debug().Int("code", int(code)).Str("reason", reason).Msg("signal connection closed")
		_ = c.ws.CloseNow()
	})
}

// readLoop reads requests until the connection ends and hands them to the participant. A
// message that does not decode closes this connection only.
func (c *signalConn) readLoop(p *Participant) {
	defer func() {
		c.closeWith(websocket.StatusNormalClosure, "")
		p.onSignalClosed(c)
	}()
	for {
		typ, data, err := c.ws.Read(c.ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) && websocket.CloseStatus(err) == -1 {
				c.log.Debug().Err(err).Msg("signal read ended")
			}
			return
		}
		req, err := decodeSignalRequest(typ, data)
		if err != nil {
			p.node.metrics.badSignal.Inc()
			c.log.Warn().Err(err).Int("bytes", len(data)).Msg("malformed signal message, closing connection")
			c.closeWith(websocket.StatusUnsupportedData, "malformed signal message")
			return
		}
		if err := p.handleSignal(c, req); err != nil {
			c.log.Warn().Err(err).Msg("signal request failed")
		}
	}
}

// decodeSignalRequest decodes one client message: protobuf in binary frames, JSON in text frames
// (LiveKit clients may use either).
func decodeSignalRequest(typ websocket.MessageType, data []byte) (*livekit.SignalRequest, error) {
	req := &livekit.SignalRequest{}
	var err error
	if typ == websocket.MessageBinary {
		err = proto.Unmarshal(data, req)
	} else {
		err = protojson.Unmarshal(data, req)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: signal message: %v", ErrBadRequest, err)
	}
	return req, nil
}
