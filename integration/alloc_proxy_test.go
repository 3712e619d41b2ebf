package integration

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// signalTap is a WebSocket proxy on 127.0.0.1 in front of a node's signaling, for a client that
// cannot report what the test needs: server-sdk-go drops StreamStateUpdate, so the tap decodes
// every server→client message and records the stream states it carries. Plain HTTP requests
// (validation after a failed connect) are reverse-proxied.
type signalTap struct {
	upstream string // host:port of the node's signaling
	ln       net.Listener
	srv      *http.Server
	http     *httputil.ReverseProxy

	mu     sync.Mutex // guards states
	states []streamStateEvent
}

// streamStateEvent is one stream state the node sent the client.
type streamStateEvent struct {
	At    time.Time `json:"at"`
	Track string    `json:"track"`
	State string    `json:"state"`
}

// startSignalTap listens on 127.0.0.1 and proxies to upstream (host:port).
func startSignalTap(upstream string) (*signalTap, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	target := &url.URL{Scheme: "http", Host: upstream}
	s := &signalTap{upstream: upstream, ln: ln, http: httputil.NewSingleHostReverseProxy(target)}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the WebSocket URL to give the SDK.
func (s *signalTap) URL() string { return "ws://" + s.ln.Addr().String() }

// close stops the listener and every proxied connection.
func (s *signalTap) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	_ = s.srv.Close()
}

// events returns the stream states seen so far.
func (s *signalTap) events() []streamStateEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]streamStateEvent(nil), s.states...)
}

func (s *signalTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		s.http.ServeHTTP(w, r)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hdr := http.Header{}
	if v := r.Header.Get("Authorization"); v != "" {
		hdr.Set("Authorization", v)
	}
	up, resp, err := websocket.Dial(ctx, "ws://"+s.upstream+r.URL.RequestURI(), &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		// Pass the node's refusal on (e.g. 401), so the SDK reacts as it would to the node.
		code := http.StatusBadGateway
		if resp != nil && resp.StatusCode >= 400 {
			code = resp.StatusCode
		}
		http.Error(w, err.Error(), code)
		return
	}
	down, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		_ = up.CloseNow()
		return
	}
	up.SetReadLimit(16 << 20)
	down.SetReadLimit(16 << 20)
	done := make(chan struct{}, 2)
	go func() { s.pump(ctx, up, down, true); done <- struct{}{} }()
	go func() { s.pump(ctx, down, up, false); done <- struct{}{} }()
	<-done
	cancel()
	<-done
}

// pump copies messages from src to dst until either side ends; fromServer marks the node→client
// direction, whose messages are inspected.
func (s *signalTap) pump(ctx context.Context, src, dst *websocket.Conn, fromServer bool) {
	for {
		typ, data, err := src.Read(ctx)
		if err != nil {
			code := websocket.CloseStatus(err)
			if code == -1 {
				code = websocket.StatusGoingAway
			}
			_ = dst.Close(code, "")
			return
		}
		if fromServer && typ == websocket.MessageBinary {
			s.inspect(data)
		}
		if err := dst.Write(ctx, typ, data); err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				_ = src.CloseNow()
			}
			return
		}
	}
}

func (s *signalTap) inspect(data []byte) {
	var msg livekit.SignalResponse
	if proto.Unmarshal(data, &msg) != nil {
		return
	}
	u := msg.GetStreamStateUpdate()
	if u == nil {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range u.StreamStates {
		s.states = append(s.states, streamStateEvent{At: now, Track: st.TrackSid, State: st.State.String()})
	}
}
