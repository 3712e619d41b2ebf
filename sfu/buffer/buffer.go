// Package buffer is the per-SSRC receive buffer of the SFU: it validates and
// caches the RTP packets a publisher sends, extends their sequence numbers
// and timestamps, detects keyframes, parses the VP8 descriptor and the audio
// level, keeps receive statistics (loss, jitter, bitrate, RFC 3550 §A.3/§A.8)
// and serves cached packets for NACK retransmission.
package buffer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgemesh/edge/sfu/codec"
)

const (
	seqWidth = 16
	tsWidth  = 32
)

// Buffer is the receive buffer of one RTP stream (one SSRC).
//
// Concurrency: Push must be called from one goroutine only (the stream's read
// loop), and the *ExtPacket it returns belongs to that goroutine until its
// next Push. Every other method is safe to call from any goroutine,
// concurrently with Push. One mutex guards the cache and the statistics; it
// is held only to copy one packet or a few counters, never across I/O.
type Buffer struct {
	// Immutable after New.
	ssrc            uint32
	clockRate       uint32
	mime            string
	codec           codec.Codec
	audioLevelExtID uint8
	maxPacketSize   int
	now             func() time.Time

	// Owned by the Push goroutine.
	pkt ExtPacket

	invalid atomic.Uint64 // rejected before taking mu

	mu    sync.Mutex // guards cache, st, sr, hasSR
	cache packetCache
	st    receiveStats
	sr    SenderReport
	hasSR bool
}

// New returns a Buffer for p, with defaults applied to zero fields (see Params).
func New(p Params) *Buffer {
	p = p.withDefaults()
	b := &Buffer{
		ssrc:            p.SSRC,
		clockRate:       p.ClockRate,
		mime:            p.MimeType,
		codec:           codec.CodecFromMime(p.MimeType),
		audioLevelExtID: p.AudioLevelExtID,
		maxPacketSize:   p.MaxPacketSize,
		now:             p.Now,
		cache:           newPacketCache(p.Size, p.MaxPacketSize),
	}
	b.st.clockRate = float64(p.ClockRate)
	b.st.prevAt = p.Now()
	return b
}

// SSRC returns the stream's SSRC.
func (b *Buffer) SSRC() uint32 { return b.ssrc }

// ClockRate returns the RTP clock rate in Hz.
func (b *Buffer) ClockRate() uint32 { return b.clockRate }

// MimeType returns the codec MIME type the Buffer was created with.
func (b *Buffer) MimeType() string { return b.mime }

// Codec returns the codec resolved from the MIME type.
func (b *Buffer) Codec() codec.Codec { return b.codec }

// CacheSize returns the packet cache capacity (the reordering window).
func (b *Buffer) CacheSize() int { return int(b.cache.capacity()) }

// Push parses raw (an RTP packet), copies it into the cache, updates
// statistics and returns the packet. raw is not retained. Push must be called
// from a single goroutine; the returned packet is valid until the next Push.
// Errors: ErrInvalidPacket (unparseable, wrong SSRC, or a VP8 payload without
// a valid descriptor), ErrPacketTooLarge, ErrDuplicate (already have this
// seq), ErrTooOld (older than the cache window). Padding-only packets are
// counted and returned with an empty Payload (the caller drops them). Push
// does not allocate in steady state.
func (b *Buffer) Push(raw []byte, arrival time.Time) (*ExtPacket, error) {
	if len(raw) > b.maxPacketSize {
		b.invalid.Add(1)
		return nil, ErrPacketTooLarge
	}
	start, end, ok := rtpBounds(raw)
	if !ok {
		b.invalid.Add(1)
		return nil, ErrInvalidPacket
	}
	p := &b.pkt
	if _, err := p.Header.Unmarshal(raw); err != nil || p.Header.SSRC != b.ssrc {
		b.invalid.Add(1)
		return nil, ErrInvalidPacket
	}
	if err := b.parsePayload(p, raw[start:end]); err != nil {
		b.invalid.Add(1)
		return nil, err
	}
	p.Arrival = arrival.UnixNano()

	b.mu.Lock()
	cached, err := b.accept(p, raw, start == end)
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// Re-parse from the cached copy so that the header's extension payloads
	// point into the cache, not into the caller's raw buffer. The bytes were
	// validated above, and only this goroutine writes to the slot.
	if _, err := p.Header.Unmarshal(cached); err != nil {
		return nil, ErrInvalidPacket
	}
	p.Raw = cached
	p.Payload = cached[start:end:end]
	return p, nil
}

// parsePayload fills the codec-derived fields of p from payload. No slice of
// payload is retained.
func (b *Buffer) parsePayload(p *ExtPacket, payload []byte) error {
	p.KeyFrame = false
	p.VP8 = codec.VP8{}
	p.HasAudioLevel, p.AudioLevel, p.Voice = false, 0, false
	if b.audioLevelExtID != 0 {
		if ext := p.Header.GetExtension(b.audioLevelExtID); ext != nil {
			level, voice, err := codec.ParseAudioLevel(ext)
			p.HasAudioLevel, p.AudioLevel, p.Voice = err == nil, level, voice
		}
	}
	if len(payload) == 0 {
		return nil
	}
	if b.codec == codec.CodecVP8 {
		if err := codec.ParseVP8(payload, &p.VP8); err != nil {
			return ErrInvalidPacket
		}
		p.KeyFrame = p.VP8.IsKeyframe
		return nil
	}
	p.KeyFrame = b.codec.IsKeyframe(payload)
	return nil
}

// accept extends the packet's sequence number and timestamp, rejects
// duplicates and packets outside the cache window, caches raw and updates the
// statistics. It returns the cached copy of raw. Called with b.mu held.
func (b *Buffer) accept(p *ExtPacket, raw []byte, padding bool) ([]byte, error) {
	st := &b.st
	seq, ts := uint64(p.Header.SequenceNumber), uint64(p.Header.Timestamp)
	if !st.started {
		st.start(seq, ts, p.Arrival)
		p.ExtSeq, p.ExtTS = seq, ts
	} else {
		ext, ok := unwrap(st.highestExtSeq, seq, seqWidth)
		if !ok || (ext < st.highestExtSeq && st.highestExtSeq-ext >= b.cache.capacity()) {
			st.tooOld++
			return nil, ErrTooOld
		}
		if b.cache.has(ext) {
			st.duplicate++
			return nil, ErrDuplicate
		}
		extTS, ok := unwrap(st.highestExtTS, ts, tsWidth)
		if !ok {
			st.tooOld++
			return nil, ErrTooOld
		}
		p.ExtSeq, p.ExtTS = ext, extTS
	}
	cached := b.cache.put(p.ExtSeq, raw)
	st.record(p.ExtSeq, p.ExtTS, len(raw), p.Arrival, padding, p.KeyFrame)
	return cached, nil
}

// ReadPacket copies the cached packet with 16-bit sequence number sn into dst
// (for NACK retransmission) and returns its length. sn is resolved to the
// newest extended sequence number within the cache window, so a packet that
// has been evicted is never confused with a newer one in the same slot. Safe
// to call concurrently with Push from any goroutine. Errors: ErrNotFound
// (evicted or never received), ErrShortBuffer.
func (b *Buffer) ReadPacket(dst []byte, sn uint16) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.st.started {
		return 0, ErrNotFound
	}
	highest := b.st.highestExtSeq
	behind := uint64(uint16(highest) - sn)
	if behind >= b.cache.capacity() || behind > highest {
		return 0, ErrNotFound
	}
	return b.cache.read(dst, highest-behind)
}

// Stats returns the cumulative counters; FractionLost and Bitrate are over
// the interval since the previous Stats call (or New), so a Buffer should
// have one periodic Stats caller. Safe for concurrent use.
func (b *Buffer) Stats() Stats {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st.snapshot(now, b.invalid.Load())
}
