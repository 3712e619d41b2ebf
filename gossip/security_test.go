package gossip

import (
	"bytes"
	"compress/lzw"
	"encoding/binary"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/livekit/protocol/livekit"
	"github.com/stretchr/testify/require"
)

// wire captures every packet and stream write a node sends.
type wire struct {
	mu     sync.Mutex
	chunks [][]byte
}

func (w *wire) capture(b []byte) {
	w.mu.Lock()
	w.chunks = append(w.chunks, bytes.Clone(b))
	w.mu.Unlock()
}

// readable reports whether s can be read from the captured traffic by someone without the
// key: in the clear, or inside memberlist's LZW compression envelope (msgpack {Algo, Buf}).
func (w *wire) readable(s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.chunks {
		if bytes.Contains(c, []byte(s)) {
			return true
		}
		for _, buf := range msgpackBufs(c) {
			plain, _ := io.ReadAll(lzw.NewReader(bytes.NewReader(buf), lzw.LSB, 8))
			if bytes.Contains(plain, []byte(s)) {
				return true
			}
		}
	}
	return false
}

// msgpackBufs finds the byte values following a "Buf" key in b.
func msgpackBufs(b []byte) [][]byte {
	var out [][]byte
	key := []byte("\xa3Buf")
	for i := bytes.Index(b, key); i >= 0; {
		rest := b[i+len(key):]
		var n, hdr int
		switch { // bin 8/16/32 or str 8/16/32 (memberlist's msgpack writes []byte as raw str)
		case len(rest) >= 2 && (rest[0] == 0xc4 || rest[0] == 0xd9):
			n, hdr = int(rest[1]), 2
		case len(rest) >= 3 && (rest[0] == 0xc5 || rest[0] == 0xda):
			n, hdr = int(binary.BigEndian.Uint16(rest[1:])), 3
		case len(rest) >= 5 && (rest[0] == 0xc6 || rest[0] == 0xdb):
			n, hdr = int(binary.BigEndian.Uint32(rest[1:])), 5
		case len(rest) >= 1 && rest[0]&0xe0 == 0xa0:
			n, hdr = int(rest[0]&0x1f), 1
		}
		if hdr > 0 && len(rest) >= hdr+n {
			out = append(out, rest[hdr:hdr+n])
		}
		j := bytes.Index(rest, key)
		if j < 0 {
			break
		}
		i += len(key) + j
	}
	return out
}

// leakCheck puts a secret participant on node 0 and reports whether it crossed the wire in
// the clear, via deltas and via a full state exchange.
func leakCheck(t *testing.T, dev bool) bool {
	w := &wire{}
	nodes := startCluster(t, 2, func(i int, cfg *Config) {
		if dev {
			cfg.Dev, cfg.SecretKey = true, nil
		}
		if i == 0 {
			cfg.Transport = newFaultTransport(t, nil, 0, w.capture)
		}
	})
	const secret = "secret-identity-7f3a"
	require.NoError(t, nodes[0].Directory().PutParticipant("vault", &livekit.ParticipantInfo{Identity: secret}))
	require.Eventually(t, func() bool {
		_, ok := nodes[1].Directory().Participant("vault", secret)
		return ok
	}, 10*time.Second, 10*time.Millisecond)
	_, err := nodes[0].Join([]string{nodes[1].Addr()}) // node 0 dials: its full state goes out on a stream
	require.NoError(t, err)
	return w.readable(secret)
}

func TestGossipIsEncrypted(t *testing.T) {
	require.True(t, leakCheck(t, true), "control: without a key the identity is on the wire")
	require.False(t, leakCheck(t, false), "with the cluster key nothing is readable")
}

func TestForeignNodesCannotJoinOrInject(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	a, b := nodes[0], nodes[1]
	other := bytes.Repeat([]byte{0x42}, 32)
	for _, tc := range []struct {
		name    string
		key     []byte
		cluster string
	}{{"wrong key", other, ""}, {"no key", nil, ""}, {"right key, other cluster name", testKey, "other"}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, "rogue-"+tc.name[:2])
			cfg.SecretKey, cfg.Dev, cfg.ClusterName = tc.key, tc.key == nil, tc.cluster
			rogue := startNode(t, cfg)
			_, err := rogue.Join([]string{a.Addr()})
			require.Error(t, err, "join must fail")

			// Inject: a delta claiming to come from b, and one in the rogue's own name, sent
			// straight to a's gossip port (encrypted with the wrong key, or in the clear).
			forged := []*record{
				{owner: "n1", ver: version{1 << 62, 1}, key: entryKey{kind: kindParticipant, room: "vault", identity: "forged"},
					part: &livekit.ParticipantInfo{Identity: "forged"}},
				{owner: cfg.NodeID, ver: version{1, 1}, key: entryKey{kind: kindParticipant, room: "vault", identity: "injected"},
					part: &livekit.ParticipantInfo{Identity: "injected"}},
			}
			ml, err := rogue.running()
			require.NoError(t, err)
			for _, r := range forged {
				msg, err := encodeDelta(r)
				require.NoError(t, err)
				require.NoError(t, ml.SendToAddress(memberlist.Address{Addr: a.Addr()}, msg))
			}
			require.NoError(t, rogue.Directory().PutParticipant("vault", &livekit.ParticipantInfo{Identity: "rogue-put"}))

			// A legitimate write sent after the injection arrives; the injected ones never do.
			sentinel := "sentinel-" + tc.name[:2]
			require.NoError(t, b.Directory().PutParticipant("vault", &livekit.ParticipantInfo{Identity: sentinel}))
			require.Eventually(t, func() bool {
				_, ok := a.Directory().Participant("vault", sentinel)
				return ok
			}, 10*time.Second, 10*time.Millisecond)
			time.Sleep(300 * time.Millisecond) // give rogue gossip a few rounds; absence cannot be polled for
			for _, id := range []string{"forged", "injected", "rogue-put"} {
				_, ok := a.Directory().Participant("vault", id)
				require.False(t, ok, "%s must not be accepted", id)
			}
			_, ok := a.Node(cfg.NodeID)
			require.False(t, ok, "rogue must not be a member")
			require.Equal(t, 2, aliveCount(a))
			require.Zero(t, a.Stats().MessagesMalformed, "rejected by memberlist before the directory")
		})
	}
}
