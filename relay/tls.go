package relay

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/url"
	"sync/atomic"
	"time"
)

// ClusterKeySize is the size of the cluster secret every node shares.
const ClusterKeySize = 32

// Key derivation labels (HKDF-SHA256 info strings). Changing them changes
// every derived key: bump ProtocolVersion with them.
const (
	hkdfSalt      = "edge-relay/1"
	hkdfCAInfo    = "cluster CA ed25519 seed"
	hkdfResetInfo = "stateless reset key "
	nodeURIScheme = "edge-node"
	leafLifetime  = 365 * 24 * time.Hour
	leafBackdate  = time.Hour
)

// caValidity is fixed so that every node derives the very same CA
// certificate from the cluster key.
var (
	caNotBefore = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	caNotAfter  = time.Date(2124, 1, 1, 0, 0, 0, 0, time.UTC)
)

// credentials are a node's TLS identity on relay links: the cluster CA
// derived from the cluster key, and a leaf certificate for the node signed by
// it at startup. Immutable after newCredentials.
type credentials struct {
	nodeID string
	roots  *x509.CertPool
	leaf   tls.Certificate
	reset  [32]byte // QUIC stateless reset key, stable per (cluster, node)
	// authFailures, if set, counts refused peer certificates.
	authFailures *atomic.Uint64
}

// newCredentials derives the cluster CA from key (HKDF-SHA256 → ed25519
// seed), and issues a leaf certificate for nodeID (CN and a URI SAN
// "edge-node:<id>") with a fresh ed25519 key.
func newCredentials(key []byte, nodeID string, now time.Time) (*credentials, error) {
	if len(key) != ClusterKeySize {
		return nil, fmt.Errorf("cluster key of %d bytes, want %d: %w", len(key), ClusterKeySize, ErrInvalidConfig)
	}
	seed, err := hkdf.Key(sha256.New, key, []byte(hkdfSalt), hkdfCAInfo, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("derive CA key: %w", err)
	}
	caKey := ed25519.NewKeyFromSeed(seed)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "edge relay cluster CA"},
		NotBefore:             caNotBefore,
		NotAfter:              caNotAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}

	leafPub, leafKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate node key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: nodeID},
		URIs:         []*url.URL{nodeURI(nodeID)},
		NotBefore:    now.Add(-leafBackdate),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, leafPub, caKey)
	if err != nil {
		return nil, fmt.Errorf("create node certificate: %w", err)
	}
	c := &credentials{
		nodeID: nodeID,
		roots:  x509.NewCertPool(),
		leaf:   tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey},
	}
	c.roots.AddCert(ca)
	reset, err := hkdf.Key(sha256.New, key, []byte(hkdfSalt), hkdfResetInfo+nodeID, len(c.reset))
	if err != nil {
		return nil, fmt.Errorf("derive reset key: %w", err)
	}
	copy(c.reset[:], reset)
	return c, nil
}

func nodeURI(nodeID string) *url.URL {
	return &url.URL{Scheme: nodeURIScheme, Opaque: url.PathEscape(nodeID)}
}

// serverConfig is the TLS config for accepted links: TLS 1.3, the relay
// ALPN, and a client certificate that chains to the cluster CA is required.
func (c *credentials) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{ALPN},
		Certificates: []tls.Certificate{c.leaf},
		ClientAuth:   tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := c.verify(raw, "")
			return err
		},
	}
}

// clientConfig is the TLS config for dialing peer: its certificate must chain
// to the cluster CA and name peer. Standard hostname verification is replaced
// by that check (node ids are not host names).
func (c *credentials) clientConfig(peer string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		NextProtos:         []string{ALPN},
		Certificates:       []tls.Certificate{c.leaf},
		ServerName:         "edge-relay",
		InsecureSkipVerify: true, // replaced by VerifyPeerCertificate below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := c.verify(raw, peer)
			return err
		},
	}
}

// verify checks that the peer's leaf certificate chains to the cluster CA,
// is valid now, and names one node consistently in its CN and URI SAN
// (which must be want, unless want is empty). It returns the node id.
func (c *credentials) verify(raw [][]byte, want string) (string, error) {
	id, err := c.verifyChain(raw, want)
	if err != nil && c.authFailures != nil {
		c.authFailures.Add(1)
	}
	return id, err
}

func (c *credentials) verifyChain(raw [][]byte, want string) (string, error) {
	if len(raw) == 0 {
		return "", fmt.Errorf("no certificate: %w", ErrUnauthenticated)
	}
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return "", fmt.Errorf("parse peer certificate: %v: %w", err, ErrUnauthenticated)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:     c.roots,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return "", fmt.Errorf("verify peer certificate: %v: %w", err, ErrUnauthenticated)
	}
	id := leaf.Subject.CommonName
	if id == "" || len(leaf.URIs) != 1 || leaf.URIs[0].String() != nodeURI(id).String() {
		return "", fmt.Errorf("peer certificate names no node: %w", ErrUnauthenticated)
	}
	if want != "" && id != want {
		return "", fmt.Errorf("peer is %q, want %q: %w", id, want, ErrUnauthenticated)
	}
	return id, nil
}

// peerID returns the node id of an authenticated TLS connection.
func peerID(state tls.ConnectionState) (string, error) {
	if len(state.PeerCertificates) == 0 {
		return "", fmt.Errorf("no peer certificate: %w", ErrUnauthenticated)
	}
	return state.PeerCertificates[0].Subject.CommonName, nil
}
