package egress

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/srtp/v3"
)

// Keys are the SRTP master keys of one DTLS-SRTP association, from the point of view of the
// DTLS server (the node): Local protects what the node sends, Remote what it receives.
type Keys struct {
	Profile               srtp.ProtectionProfile
	LocalKey, LocalSalt   []byte
	RemoteKey, RemoteSalt []byte
}

// Capture records what one DTLS handshake in the server role reveals to its own side: the
// client random and master secret (from the key log, dtls.Config.KeyLogWriter) and the
// server random, cipher suite and SRTP profile (from the ServerHello the node sends,
// dtls.Config.ServerHelloMessageHook). From them it derives the SRTP keys exactly as the
// DTLS connection's keying-material exporter does (RFC 5705, RFC 5764 section 4.2). A
// Capture serves one connection; a second, different handshake invalidates it. Safe for
// concurrent use.
type Capture struct {
	mu           sync.Mutex
	clientRandom []byte
	masterSecret []byte
	serverRandom []byte
	suite        uint16
	profile      srtp.ProtectionProfile
	bad          error // set once something makes the keys underivable
}

// keyLogLabel is the NSS key log label of a TLS 1.2 (and DTLS 1.2) master secret.
const keyLogLabel = "CLIENT_RANDOM"

// Write takes one key log line "CLIENT_RANDOM <client random hex> <master secret hex>\n"
// (io.Writer for SettingEngine.SetDTLSKeyLogWriter). Lines with other labels are ignored.
func (c *Capture) Write(p []byte) (int, error) {
	fields := bytes.Fields(p)
	if len(fields) != 3 || string(fields[0]) != keyLogLabel {
		return len(p), nil
	}
	cr, err1 := hex.DecodeString(string(fields[1]))
	ms, err2 := hex.DecodeString(string(fields[2]))
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err1 != nil || err2 != nil || len(cr) != handshake.RandomLength || len(ms) == 0:
		c.fail(errors.New("malformed key log line"))
	case c.masterSecret != nil && (!bytes.Equal(cr, c.clientRandom) || !bytes.Equal(ms, c.masterSecret)):
		c.fail(errors.New("more than one DTLS handshake"))
	default:
		c.clientRandom, c.masterSecret = cr, ms
	}
	return len(p), nil
}

// ServerHello records the ServerHello the node sends and returns it unchanged (for
// SettingEngine.SetDTLSServerHelloMessageHook).
func (c *Capture) ServerHello(m handshake.MessageServerHello) handshake.Message {
	random := m.Random.MarshalFixed()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.serverRandom != nil && !bytes.Equal(c.serverRandom, random[:]) {
		c.fail(errors.New("more than one DTLS handshake"))
		return &m
	}
	c.serverRandom = random[:]
	if m.CipherSuiteID == nil {
		c.fail(errors.New("ServerHello without a cipher suite"))
		return &m
	}
	c.suite = *m.CipherSuiteID
	c.profile = 0
	for _, e := range m.Extensions {
		u, ok := e.(*extension.UseSRTP)
		if !ok {
			continue
		}
		if len(u.ProtectionProfiles) != 1 || len(u.MasterKeyIdentifier) != 0 {
			c.fail(errors.New("use_srtp with an MKI or not exactly one profile"))
			return &m
		}
		p, err := srtpProfile(u.ProtectionProfiles[0])
		if err != nil {
			c.fail(err)
			return &m
		}
		c.profile = p
	}
	return &m
}

func (c *Capture) fail(err error) {
	if c.bad == nil {
		c.bad = err
	}
}

// srtpProfile maps a DTLS use_srtp profile to srtp's.
func srtpProfile(p dtls.SRTPProtectionProfile) (srtp.ProtectionProfile, error) {
	switch p {
	case dtls.SRTP_AES128_CM_HMAC_SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case dtls.SRTP_AES128_CM_HMAC_SHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	case dtls.SRTP_AEAD_AES_128_GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, nil
	case dtls.SRTP_AEAD_AES_256_GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, nil
	}
	return 0, fmt.Errorf("unsupported SRTP profile %#04x", uint16(p))
}

// prfHash is the PRF hash of a DTLS 1.2 cipher suite: SHA-384 for the *_SHA384 suites, SHA-256
// for every other suite pion's DTLS implements (RFC 5246 section 5, RFC 5289).
func prfHash(suite uint16) func() hash.Hash {
	switch dtls.CipherSuiteID(suite) {
	case dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return sha512.New384
	}
	return sha256.New
}

// srtpExporterLabel is the RFC 5764 keying-material exporter label.
const srtpExporterLabel = "EXTRACTOR-dtls_srtp"

// Keys derives the SRTP keys once the handshake has gone far enough (the master secret is
// logged when the server processes the client's key exchange).
func (c *Capture) Keys() (Keys, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.bad != nil:
		return Keys{}, c.bad
	case c.serverRandom == nil:
		return Keys{}, errors.New("no ServerHello sent: the node is not the DTLS server")
	case c.masterSecret == nil:
		return Keys{}, errors.New("no master secret logged")
	case c.profile == 0:
		return Keys{}, errors.New("no SRTP profile negotiated")
	}
	keyLen, err := c.profile.KeyLen()
	if err != nil {
		return Keys{}, err
	}
	saltLen, err := c.profile.SaltLen()
	if err != nil {
		return Keys{}, err
	}
	seed := make([]byte, 0, len(srtpExporterLabel)+2*handshake.RandomLength)
	seed = append(append(append(seed, srtpExporterLabel...), c.clientRandom...), c.serverRandom...)
	m, err := prf.PHash(c.masterSecret, seed, 2*keyLen+2*saltLen, prfHash(c.suite))
	if err != nil {
		return Keys{}, fmt.Errorf("keying material: %w", err)
	}
	// RFC 5764 4.2: client key, server key, client salt, server salt. The node is the server.
	return Keys{
		Profile:    c.profile,
		RemoteKey:  m[:keyLen],
		LocalKey:   m[keyLen : 2*keyLen],
		RemoteSalt: m[2*keyLen : 2*keyLen+saltLen],
		LocalSalt:  m[2*keyLen+saltLen:],
	}, nil
}
