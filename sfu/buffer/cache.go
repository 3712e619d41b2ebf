package buffer

// packetCache is a ring of fixed-size slots indexed by extended sequence
// number modulo its power-of-two capacity. Each slot remembers the extended
// sequence number it holds, so a lookup never returns a different packet that
// later landed in the same slot. It is not synchronized; Buffer guards it.
type packetCache struct {
	data     []byte // len(slots) * slotSize bytes, one region per slot
	slots    []cacheSlot
	slotSize int
	mask     uint64
}

type cacheSlot struct {
	extSeq uint64
	size   int // bytes stored; 0 = empty
}

func newPacketCache(size, slotSize int) packetCache {
	return packetCache{
		data:     make([]byte, size*slotSize),
		slots:    make([]cacheSlot, size),
		slotSize: slotSize,
		mask:     uint64(size - 1),
	}
}

func (c *packetCache) capacity() uint64 { return c.mask + 1 }

// has reports whether the packet with extended sequence number ext is cached.
func (c *packetCache) has(ext uint64) bool {
	s := &c.slots[ext&c.mask]
	return s.size > 0 && s.extSeq == ext
}

// put copies pkt (len ≤ slotSize) into the slot of ext, evicting whatever the
// slot held, and returns the cached copy.
func (c *packetCache) put(ext uint64, pkt []byte) []byte {
	i := ext & c.mask
	off := int(i) * c.slotSize
	n := copy(c.data[off:off+c.slotSize], pkt)
	c.slots[i] = cacheSlot{extSeq: ext, size: n}
	return c.data[off : off+n : off+n]
}

// read copies the packet with extended sequence number ext into dst.
func (c *packetCache) read(dst []byte, ext uint64) (int, error) {
	i := ext & c.mask
	s := c.slots[i]
	if s.size == 0 || s.extSeq != ext {
		return 0, ErrNotFound
	}
	if len(dst) < s.size {
		return 0, ErrShortBuffer
	}
	off := int(i) * c.slotSize
	return copy(dst, c.data[off:off+s.size]), nil
}
