package relay

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/quic-go/quic-go"
	"github.com/stretchr/testify/require"

	"github.com/edgemesh/edge/sfu"
)

func TestCredentials(t *testing.T) {
	t.Parallel()
	now := time.Now()
	a, err := newCredentials(testKey, "node-a", now)
	require.NoError(t, err)
	b, err := newCredentials(testKey, "node-b", now)
	require.NoError(t, err)
	otherKey := []byte("another cluster key, 32 bytes!!!")
	evil, err := newCredentials(otherKey, "node-b", now)
	require.NoError(t, err)
	_, err = newCredentials(testKey[:16], "node-a", now)
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.NotEqual(t, a.reset, b.reset, "stateless reset keys differ per node")

	selfSigned := selfSignedCert(t, "node-b")
	tests := []struct {
		name   string
		raw    [][]byte
		want   string
		wantID string
		err    error
	}{
		{"same cluster", b.leaf.Certificate, "", "node-b", nil},
		{"same cluster, expected name", b.leaf.Certificate, "node-b", "node-b", nil},
		{"same cluster, other name", b.leaf.Certificate, "node-c", "", ErrUnauthenticated},
		{"other cluster key", evil.leaf.Certificate, "", "", ErrUnauthenticated},
		{"self-signed", [][]byte{selfSigned.Certificate[0]}, "", "", ErrUnauthenticated},
		{"no certificate", nil, "", "", ErrUnauthenticated},
		{"garbage", [][]byte{{1, 2, 3}}, "", "", ErrUnauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.verify(tc.raw, tc.want)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantID, id)
		})
	}
}

// selfSignedCert makes a certificate for id that chains to no cluster CA.
func selfSignedCert(t testing.TB, id string) tls.Certificate {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: id}, URIs: nil,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	tmpl.URIs = append(tmpl.URIs, nodeURI(id))
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
}

// rawDial connects to addr with tlsConf from a separate socket, as a foreign
// or misbehaving node would.
func rawDial(t testing.TB, addr net.Addr, tlsConf *tls.Config) (*quic.Conn, error) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	tr := &quic.Transport{Conn: pc}
	t.Cleanup(func() {
		_ = tr.Close()
		_ = pc.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	return tr.Dial(ctx, addr, tlsConf, &quic.Config{EnableDatagrams: true, HandshakeIdleTimeout: 2 * time.Second})
}

// TestRelayForeignNodeRejected checks that nodes without the cluster key
// cannot connect, subscribe or inject media.
func TestRelayForeignNodeRejected(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	a := newEndpoint(t, "node-a", newTrackMap(video))

	// A node of another cluster: its dial fails (A's certificate does not
	// chain to its CA, nor would its own to A's).
	c := newEndpoint(t, "node-c", nil, func(cfg *Config) {
		cfg.ClusterKey = []byte("another cluster key, 32 bytes!!!")
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := c.Dial(ctx, "node-a", a.Addr().String())
	require.Error(t, err)
	require.NotZero(t, c.Stats().AuthFailures)

	// A client that skips verifying A and presents a self-signed certificate,
	// or none: A refuses it and it cannot subscribe.
	for name, certs := range map[string][]tls.Certificate{
		"self-signed":    {selfSignedCert(t, "node-x")},
		"no certificate": nil,
	} {
		conn, err := rawDial(t, a.Addr(), &tls.Config{
			MinVersion: tls.VersionTLS13, NextProtos: []string{ALPN},
			InsecureSkipVerify: true, Certificates: certs, //nolint:gosec // the attacker
		})
		if err == nil {
			err = trySubscribe(conn, "node-x", "TR_video")
		}
		require.Error(t, err, name)
	}
	require.NotZero(t, a.Stats().AuthFailures)
	require.Zero(t, video.sinks.Len(), "nothing was subscribed")
	for _, p := range a.Stats().Peers {
		require.False(t, p.Connected, "peer %s", p.NodeID)
	}

	// A node of this cluster dialing A under the wrong name fails too.
	b := newEndpoint(t, "node-b", nil)
	_, err = b.Dial(ctx, "node-z", a.Addr().String())
	require.ErrorIs(t, err, ErrUnauthenticated)
}

// trySubscribe speaks the protocol on conn: hello as id, then subscribe to
// sid; it returns the error of reading the answer.
func trySubscribe(conn *quic.Conn, id, sid string) error {
	s, err := conn.OpenStreamSync(context.Background())
	if err != nil {
		return err
	}
	b := appendMessage(nil, &helloMsg{Version: ProtocolVersion, NodeID: id})
	b = appendMessage(b, &subscribeMsg{TrackID: sid, Layers: uint8(sfu.AllLayers)})
	if _, err := s.Write(b); err != nil {
		return err
	}
	_ = s.SetReadDeadline(time.Now().Add(waitFor))
	in := bufio.NewReader(s)
	buf := make([]byte, maxFrameSize)
	for range 2 { // hello, then the answer to subscribe
		if _, err := readFrame(in, buf); err != nil {
			return err
		}
	}
	return nil
}

// TestRelayMalformedPeerClosed checks that a node of the cluster that sends
// garbage gets its link closed and counted, while other links carry on.
func TestRelayMalformedPeerClosed(t *testing.T) {
	t.Parallel()
	video := newTestSource("TR_video", webrtc.RTPCodecTypeVideo, sfu.AllLayers)
	a := newEndpoint(t, "node-a", newTrackMap(video))
	b := newEndpoint(t, "node-b", nil)
	rt := subscribe(t, dial(t, b, a), "TR_video")
	sink := newRecvSink(sfu.LayerBit(sfu.LayerLow))
	require.NoError(t, rt.AddSink(sink))
	runGenerator(t, video, 5*time.Millisecond, 10, 300)
	require.Eventually(t, func() bool { return sink.count(sfu.LayerLow) > 10 }, waitFor, 5*time.Millisecond)

	evil, err := newCredentials(testKey, "node-evil", time.Now())
	require.NoError(t, err)
	garbage := map[string][]byte{
		"hello then a bad frame":         append(appendMessage(nil, &helloMsg{Version: 1, NodeID: "node-evil"}), 0x80, 0xFF, 0xFF, 0xFF),
		"hello then a malformed message": append(appendMessage(nil, &helloMsg{Version: 1, NodeID: "node-evil"}), 2, msgKeyframe, 9),
		"no hello":                       appendMessage(nil, &subscribeMsg{TrackID: "TR_video"}),
		"hello naming another node":      appendMessage(nil, &helloMsg{Version: 1, NodeID: "node-b"}),
		"version 0":                      appendMessage(nil, &helloMsg{Version: 0, NodeID: "node-evil"}),
	}
	for name, g := range garbage {
		conn, err := rawDial(t, a.Addr(), evil.clientConfig("node-a"))
		require.NoError(t, err, name)
		s, err := conn.OpenStreamSync(context.Background())
		require.NoError(t, err)
		_, err = s.Write(g)
		require.NoError(t, err)
		select {
		case <-conn.Context().Done():
		case <-time.After(waitFor):
			t.Fatalf("%s: link not closed", name)
		}
		var appErr *quic.ApplicationError
		require.ErrorAs(t, context.Cause(conn.Context()), &appErr, name)
		require.Contains(t, []quic.ApplicationErrorCode{codeProtocol, codeVersion}, appErr.ErrorCode, name)
	}
	p, ok := a.Peer("node-evil")
	require.True(t, ok)
	st := p.Stats()
	require.GreaterOrEqual(t, st.Malformed, uint64(4))
	require.False(t, st.Connected)
	require.Zero(t, st.Served)

	before := sink.count(sfu.LayerLow)
	require.Eventually(t, func() bool { return sink.count(sfu.LayerLow) > before+10 }, waitFor, 5*time.Millisecond)
	require.Zero(t, b.Stats().Peers[0].Malformed)
	require.Equal(t, uint64(1), b.Stats().Peers[0].Links, "the good link was not disturbed")
}
