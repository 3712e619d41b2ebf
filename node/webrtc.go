package node

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/rs/zerolog"

	"github.com/edgemesh/edge/egress"
	"github.com/edgemesh/edge/sfu/bwe"
	"github.com/edgemesh/edge/udpgso"
)

// Header extension URIs negotiated with clients.
const (
	audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	twccURI       = sdp.TransportCCURI
)

var videoFeedback = []webrtc.RTCPFeedback{
	{Type: webrtc.TypeRTCPFBGoogREMB},
	{Type: webrtc.TypeRTCPFBTransportCC},
	{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
	{Type: webrtc.TypeRTCPFBNACK},
	{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
}

// supportedCodecs lists the codecs an edge accepts from publishers and offers to subscribers.
func supportedCodecs() []webrtc.RTPCodecParameters {
	audioFB := []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: audioFB}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "111/111", RTCPFeedback: audioFB}, PayloadType: 63},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: videoFeedback}, PayloadType: 96},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: videoFeedback}, PayloadType: 125},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032", RTCPFeedback: videoFeedback}, PayloadType: 123},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f", RTCPFeedback: videoFeedback}, PayloadType: 127},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000,
			SDPFmtpLine: "profile-id=0", RTCPFeedback: videoFeedback}, PayloadType: 98},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000,
			SDPFmtpLine: "profile-id=2", RTCPFeedback: videoFeedback}, PayloadType: 100},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000,
			RTCPFeedback: videoFeedback}, PayloadType: 35},
	}
}

func newMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range supportedCodecs() {
		kind := webrtc.RTPCodecTypeVideo
		if c.MimeType == webrtc.MimeTypeOpus || c.MimeType == "audio/red" {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := m.RegisterCodec(c, kind); err != nil {
			return nil, fmt.Errorf("register codec %s: %w", c.MimeType, err)
		}
	}
	exts := []struct {
		uri   string
		kinds []webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
		{sdp.SDESRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
		{sdp.SDESRepairRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
		{audioLevelURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}},
		{twccURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
	}
	for _, e := range exts {
		for _, k := range e.kinds {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, k); err != nil {
				return nil, fmt.Errorf("register extension %s: %w", e.uri, err)
			}
		}
	}
	return m, nil
}

// pcRole says what a peer connection carries, which decides the interceptors it runs.
type pcRole int

const (
	rolePublisher  pcRole = iota // media from the client (v0 publisher connection)
	roleSubscriber               // media to the client (v0 subscriber connection)
	roleBoth                     // both ways (v1 single peer connection)
)

// newInterceptorRegistry builds the interceptor chain for one role: towards publishers NACK
// generation, receiver reports and TWCC feedback for incoming media; towards subscribers TWCC
// sequence numbers on outgoing media. NACKs from subscribers are answered by the sfu from the
// receivers' caches, and sender reports to subscribers come from the down-tracks, so neither
// responder is here. Connections get only what their role needs: every interceptor runs its
// own timers per connection, and idle ones cost scheduler time on a loaded node (the inbound
// ones start theirs only with the first incoming stream: inboundFactory). Connections
// that send media also get the bandwidth estimator of estimators (if not nil), registered before
// the TWCC header extension so that it sees the sequence numbers that interceptor assigns.
func newInterceptorRegistry(role pcRole, estimators *bwe.Factory) (*interceptor.Registry, error) {
	r := &interceptor.Registry{}
	if role != roleSubscriber {
		gen, err := nack.NewGeneratorInterceptor(nack.GeneratorSize(1024), nack.GeneratorInterval(20*time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("nack generator: %w", err)
		}
		r.Add(inboundFactory{gen})
		rr, err := report.NewReceiverInterceptor()
		if err != nil {
			return nil, fmt.Errorf("receiver reports: %w", err)
		}
		r.Add(inboundFactory{rr})
		fb, err := twcc.NewSenderInterceptor(twcc.SendInterval(50 * time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("twcc feedback: %w", err)
		}
		r.Add(inboundFactory{fb})
	}
	if role != rolePublisher {
		if estimators != nil {
			r.Add(estimators)
		}
		hx, err := twcc.NewHeaderExtensionInterceptor()
		if err != nil {
			return nil, fmt.Errorf("twcc header extension: %w", err)
		}
		r.Add(hx)
	}
	return r, nil
}

// rtcNet holds the node's ICE listeners, shared by every peer connection of the node.
type rtcNet struct {
	udpConn net.PacketConn
	gso     *udpgso.Conn    // udpConn when it batches sends; nil when batching is off
	send    egress.Sender   // udpConn, for sends that bypass pion (package egress)
	inbound *egress.Inbound // subscribers' SRTCP read past pion; nil when direct sends are off
	udpMux  ice.UDPMux
	tcpLn   net.Listener
	tcpMux  ice.TCPMux
}

// rtcListen is what listenRTC opens.
type rtcListen struct {
	bind             string
	udpPort, tcpPort int
	noBatch          bool           // no send batching (udpgso)
	noDirect         bool           // no direct SRTP (egress)
	udpConn          net.PacketConn // if set, the ICE/UDP socket instead of listening on udpPort
}

// listenRTC opens the node's ICE listeners. Unless noBatch, the UDP socket batches the
// fan-out's bursts to one subscriber into one UDP GSO send (udpgso); only a *net.UDPConn can.
func listenRTC(p rtcListen, logs pionLogs) (*rtcNet, error) {
	conn := p.udpConn
	if conn == nil {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(p.bind), Port: p.udpPort})
		if err != nil {
			return nil, fmt.Errorf("listen ICE/UDP: %w", err)
		}
		conn = udp
	}
	var send egress.Sender = packetSender{conn}
	var gso *udpgso.Conn
	if udp, ok := conn.(*net.UDPConn); ok {
		send = udpSender{udp}
		if !p.noBatch {
			gso = udpgso.New(udp, udpgso.Options{})
			conn, send = gso, gso
		}
	}
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(p.bind), Port: p.tcpPort})
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("listen ICE/TCP: %w", err)
	}
	var inbound *egress.Inbound
	muxConn := conn
	if !p.noDirect {
		inbound = egress.NewInbound()
		muxConn = inbound.Conn(conn)
	}
	return &rtcNet{
		udpConn: conn,
		gso:     gso,
		send:    send,
		inbound: inbound,
		udpMux:  webrtc.NewICEUDPMux(logs.NewLogger("udpmux"), muxConn),
		tcpLn:   tcp,
		tcpMux:  webrtc.NewICETCPMux(logs.NewLogger("tcpmux"), tcp, 64),
	}, nil
}

// packetSender is any packet socket as an egress.Sender.
type packetSender struct{ c net.PacketConn }

func (u packetSender) WriteToAddrPort(b []byte, a netip.AddrPort) (int, error) {
	return u.c.WriteTo(b, net.UDPAddrFromAddrPort(a))
}

// udpSender is a plain UDP socket as an egress.Sender.
type udpSender struct{ c *net.UDPConn }

func (u udpSender) WriteToAddrPort(b []byte, a netip.AddrPort) (int, error) {
	return u.c.WriteToUDPAddrPort(b, a)
}

func (r *rtcNet) close() {
	_ = r.udpMux.Close()
	_ = r.tcpMux.Close()
	_ = r.udpConn.Close()
	_ = r.tcpLn.Close()
}

// apiParams configure the node's webrtc.APIs.
type apiParams struct {
	rtc      *rtcNet
	nodeIP   string // advertised instead of the bind address, if set
	loopback bool   // include loopback candidates (the node binds a loopback address)
	log      zerolog.Logger
	bwe      *bwe.Factory // bandwidth estimators of media-sending connections; nil: none
	direct   bool         // the node sends subscribers' SRTP itself (package egress)
}

// webrtcAPIs are the node's webrtc.APIs, one per peer-connection role, and what it takes to
// make a connection its own API (withCapture). Every node has its own: no globals, so many
// nodes can run in one process.
type webrtcAPIs struct {
	shared [3]*webrtc.API
	media  *webrtc.MediaEngine
	regs   [3]*interceptor.Registry
	se     [3]webrtc.SettingEngine
}

func (a *webrtcAPIs) forRole(r pcRole) *webrtc.API { return a.shared[r] }

// withCapture returns an API for one connection of role r whose DTLS handshake c records (the
// key log and the ServerHello), so that the node can send the connection's SRTP itself.
func (a *webrtcAPIs) withCapture(r pcRole, c *egress.Capture) *webrtc.API {
	se := a.se[r]
	se.SetDTLSKeyLogWriter(c)
	se.SetDTLSServerHelloMessageHook(c.ServerHello)
	return webrtc.NewAPI(webrtc.WithMediaEngine(a.media), webrtc.WithInterceptorRegistry(a.regs[r]), webrtc.WithSettingEngine(se))
}

func newAPIs(p apiParams) (*webrtcAPIs, error) {
	m, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{LoggerFactory: pionLogs{log: p.log}}
	se.SetICEUDPMux(p.rtc.udpMux)
	se.SetICETCPMux(p.rtc.tcpMux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	se.SetIncludeLoopbackCandidate(p.loopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.DisableActiveTCP(true)
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	if p.nodeIP != "" {
		se.SetNAT1To1IPs([]string{p.nodeIP}, webrtc.ICECandidateTypeHost)
	}
	apis := &webrtcAPIs{media: m}
	for _, role := range []pcRole{rolePublisher, roleSubscriber, roleBoth} {
		reg, err := newInterceptorRegistry(role, p.bwe)
		if err != nil {
			return nil, err
		}
		roleSE := se
		switch role {
		case roleSubscriber:
			// The server's data channels on a subscriber connection are read by
			// serveSubscriberChannel with a small buffer (see there).
			roleSE.DetachDataChannels()
		case roleBoth:
			if p.direct {
				// The node answers the client's offer as the DTLS server, the role in which
				// it can derive the SRTP keys for direct sends (egress.Capture).
				if err := roleSE.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
					return nil, err
				}
			}
		}
		apis.regs[role], apis.se[role] = reg, roleSE
		apis.shared[role] = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(roleSE))
	}
	return apis, nil
}
