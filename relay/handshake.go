package relay

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/quic-go/quic-go"
)

// Application error codes of CONNECTION_CLOSE (PROTOCOL.md).
const (
	codeNormal   quic.ApplicationErrorCode = 0x0
	codeIdle     quic.ApplicationErrorCode = 0x1
	codeProtocol quic.ApplicationErrorCode = 0x2
	codeVersion  quic.ApplicationErrorCode = 0x3
	codeShutdown quic.ApplicationErrorCode = 0x4
	codeOverload quic.ApplicationErrorCode = 0x5
)

// dialLink dials p at addr: QUIC + TLS (the peer must prove it is p.id), then
// the hello exchange on the control stream, which the dialer opens.
func (e *Endpoint) dialLink(ctx context.Context, p *Peer, addr string) (*link, error) {
	udp, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s at %s: %w", p.id, addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*e.cfg.HandshakeTimeout)
	defer cancel()
	conn, err := e.tr.Dial(ctx, udp, e.creds.clientConfig(p.id), e.qconf)
	if err != nil {
		e.handshakeFailures.Add(1)
		return nil, fmt.Errorf("dial %s at %s: %w", p.id, addr, err)
	}
	ctrl, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, e.handshakeFailed(conn, p, codeNormal, fmt.Errorf("open control stream: %w", err))
	}
	in := bufio.NewReader(ctrl)
	if err := e.hello(ctrl, in, p.id); err != nil {
		return nil, e.handshakeFailed(conn, p, codeFor(err), err)
	}
	return newLink(e, p, conn, ctrl, in, true), nil
}

// acceptLink completes an accepted connection: the peer's certificate was
// verified during the handshake; it must open the control stream and send a
// hello naming the node of its certificate.
func (e *Endpoint) acceptLink(conn *quic.Conn) {
	id, err := peerID(conn.ConnectionState().TLS)
	if err != nil {
		e.handshakeFailures.Add(1)
		_ = conn.CloseWithError(codeProtocol, "no peer identity")
		return
	}
	p := e.peer(id, "")
	if p == nil {
		_ = conn.CloseWithError(codeShutdown, "shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.HandshakeTimeout)
	defer cancel()
	ctrl, err := conn.AcceptStream(ctx)
	if err != nil {
		_ = e.handshakeFailed(conn, p, codeProtocol, fmt.Errorf("accept control stream: %w", err))
		return
	}
	in := bufio.NewReader(ctrl)
	if err := e.hello(ctrl, in, id); err != nil {
		_ = e.handshakeFailed(conn, p, codeFor(err), err)
		return
	}
	p.setAddrIfUnknown(conn.RemoteAddr().String())
	p.attach(newLink(e, p, conn, ctrl, in, false))
}

// hello sends this node's hello and reads the peer's, which must name want
// and a version this node speaks (the link then uses the lower of the two).
func (e *Endpoint) hello(ctrl *quic.Stream, in *bufio.Reader, want string) error {
	deadline := time.Now().Add(e.cfg.HandshakeTimeout)
	_ = ctrl.SetDeadline(deadline)
	defer func() { _ = ctrl.SetDeadline(time.Time{}) }()
	if _, err := ctrl.Write(appendMessage(nil, &helloMsg{Version: ProtocolVersion, NodeID: e.cfg.NodeID})); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	frame, err := readFrame(in, make([]byte, maxFrameSize))
	if err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	m, err := decodeMessage(frame[0], frame[1:])
	if err != nil {
		return err
	}
	h, ok := m.(*helloMsg)
	if !ok {
		return fmt.Errorf("first message of type %#x is not hello: %w", frame[0], ErrMalformed)
	}
	if h.Version < ProtocolVersion {
		return fmt.Errorf("peer speaks version %d: %w", h.Version, ErrVersion)
	}
	if h.NodeID != want {
		return fmt.Errorf("hello from %q on a link authenticated as %q: %w", h.NodeID, want, ErrUnauthenticated)
	}
	return nil
}

// handshakeFailed counts and closes a connection whose hello exchange failed.
func (e *Endpoint) handshakeFailed(conn *quic.Conn, p *Peer, code quic.ApplicationErrorCode, err error) error {
	e.handshakeFailures.Add(1)
	if code == codeProtocol {
		p.c.malformed.Add(1)
	}
	e.log.Warn().Err(err).Str("peer", p.id).Msg("relay handshake failed")
	_ = conn.CloseWithError(code, err.Error())
	return fmt.Errorf("handshake with %s: %w", p.id, err)
}
