package egress

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/srtp/v3"
)

// handshake runs a real DTLS-SRTP handshake over loopback UDP with cap recording the server
// side, and returns the server's connection state (its own keying-material exporter).
func runHandshake(t *testing.T, c *Capture, suites []dtls.CipherSuiteID, profiles []dtls.SRTPProtectionProfile, ems dtls.ExtendedMasterSecretType) dtls.State {
	t.Helper()
	srvPC, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	cliPC, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	srvCert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	cliCert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := dtls.Server(srvPC, cliPC.LocalAddr(), &dtls.Config{
		Certificates:           []tls.Certificate{srvCert},
		CipherSuites:           suites,
		SRTPProtectionProfiles: profiles,
		ExtendedMasterSecret:   ems,
		ClientAuth:             dtls.RequireAnyClientCert,
		KeyLogWriter:           c,
		ServerHelloMessageHook: c.ServerHello,
		InsecureSkipVerify:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := dtls.Client(cliPC, srvPC.LocalAddr(), &dtls.Config{
		Certificates:           []tls.Certificate{cliCert},
		CipherSuites:           suites,
		SRTPProtectionProfiles: profiles,
		ExtendedMasterSecret:   ems,
		InsecureSkipVerify:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	errc := make(chan error, 1)
	go func() { errc <- cli.HandshakeContext(ctx) }()
	if err := srv.HandshakeContext(ctx); err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	st, ok := srv.ConnectionState()
	if !ok {
		t.Fatal("no server connection state")
	}
	return st
}

// The keys a Capture derives are the ones the DTLS connection itself exports, for each PRF
// hash, SRTP profile and master-secret kind.
func TestCaptureKeysMatchExporter(t *testing.T) {
	cases := []struct {
		name    string
		suite   dtls.CipherSuiteID
		profile dtls.SRTPProtectionProfile
		want    srtp.ProtectionProfile
		ems     dtls.ExtendedMasterSecretType
	}{
		{"gcm128-sha256-ems", dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.SRTP_AEAD_AES_128_GCM, srtp.ProtectionProfileAeadAes128Gcm, dtls.RequireExtendedMasterSecret},
		{"gcm256-sha384-ems", dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.SRTP_AEAD_AES_256_GCM, srtp.ProtectionProfileAeadAes256Gcm, dtls.RequireExtendedMasterSecret},
		{"cm-sha1-nonems", dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.SRTP_AES128_CM_HMAC_SHA1_80, srtp.ProtectionProfileAes128CmHmacSha1_80, dtls.DisableExtendedMasterSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Capture
			st := runHandshake(t, &c, []dtls.CipherSuiteID{tc.suite}, []dtls.SRTPProtectionProfile{tc.profile}, tc.ems)
			k, err := c.Keys()
			if err != nil {
				t.Fatalf("Keys: %v", err)
			}
			if k.Profile != tc.want {
				t.Fatalf("profile %v, want %v", k.Profile, tc.want)
			}
			var cfg srtp.Config
			cfg.Profile = tc.want
			if err := cfg.ExtractSessionKeysFromDTLS(&st, false); err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				name      string
				got, want []byte
			}{
				{"local key", k.LocalKey, cfg.Keys.LocalMasterKey},
				{"local salt", k.LocalSalt, cfg.Keys.LocalMasterSalt},
				{"remote key", k.RemoteKey, cfg.Keys.RemoteMasterKey},
				{"remote salt", k.RemoteSalt, cfg.Keys.RemoteMasterSalt},
			} {
				if !bytes.Equal(p.got, p.want) || len(p.got) == 0 {
					t.Errorf("%s: got %x, want %x", p.name, p.got, p.want)
				}
			}
		})
	}
}

func TestCaptureRefusesWhatItCannotDerive(t *testing.T) {
	var none Capture
	if _, err := none.Keys(); err == nil {
		t.Error("keys without a handshake")
	}

	// A second, different handshake on the same Capture.
	var c Capture
	line := []byte("CLIENT_RANDOM " + string(bytes.Repeat([]byte("ab"), 32)) + " " + string(bytes.Repeat([]byte("cd"), 48)) + "\n")
	if _, err := c.Write(line); err != nil {
		t.Fatal(err)
	}
	other := []byte("CLIENT_RANDOM " + string(bytes.Repeat([]byte("ef"), 32)) + " " + string(bytes.Repeat([]byte("cd"), 48)) + "\n")
	_, _ = c.Write(other)
	suite := uint16(dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	c.ServerHello(handshake.MessageServerHello{CipherSuiteID: &suite})
	if _, err := c.Keys(); err == nil {
		t.Error("keys after two different handshakes")
	}

	// Garbage lines are refused, other labels ignored.
	var g Capture
	_, _ = g.Write([]byte("SERVER_TRAFFIC_SECRET_0 00 00\n"))
	if g.masterSecret != nil || g.bad != nil {
		t.Error("a line with another label was used")
	}
	_, _ = g.Write([]byte("CLIENT_RANDOM zz 00\n"))
	if _, err := g.Keys(); err == nil {
		t.Error("keys from a malformed key log line")
	}
}
