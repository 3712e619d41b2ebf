package bwe

import "sync/atomic"

// historySize is how many sent packets the estimator remembers, indexed by
// transport-wide sequence number. Feedback arrives every 50–100 ms after a
// round trip; 4096 packets cover 0.8 s even at 5,000 packets per second (a
// probe on a fast link), 15 s for one 720p camera. The ring is 32 KiB per
// subscriber connection, touched in full after 4096 packets, so its size
// shows in the node's memory per subscriber.
const historySize = 1 << 12

// A history slot packs one sent packet into 64 bits so it can be written and
// read atomically without a lock:
//
//	bits 63..48  transport-wide sequence number (to detect an overwritten slot)
//	bit  47      reported: feedback already covered this packet
//	bits 46..36  size in bytes (RTP header + payload + padding, at most 2047)
//	bits 35..0   send time in µs since the estimator's epoch, modulo 2^36
//	             (19 hours; unwrapped against the time of reading)
const (
	slotSeqShift      = 48
	slotReportedBit   = uint64(1) << 47
	slotSizeShift     = 36
	slotSizeMask      = uint64(1)<<11 - 1
	slotTimeMask      = uint64(1)<<36 - 1
	maxRecordedSize   = int(slotSizeMask)
	slotTimeWrapSpan  = int64(slotTimeMask) + 1
	emptySlot         = uint64(0)
	minimumSendTimeUS = 1 // a recorded time is never 0, so a slot is never mistaken for empty
)

// history is the ring of sent packets. put is called concurrently by every
// goroutine that writes RTP to the PeerConnection; take by the feedback path.
// Both are lock-free.
type history struct {
	slots [historySize]atomic.Uint64
}

func packSlot(seq uint16, size int, sendUS int64) uint64 {
	if size > maxRecordedSize {
		size = maxRecordedSize
	}
	if size < 0 {
		size = 0
	}
	t := uint64(max(sendUS, minimumSendTimeUS)) & slotTimeMask
	return uint64(seq)<<slotSeqShift | uint64(size)<<slotSizeShift | t
}

// put records packet seq of size bytes sent at sendUS.
func (h *history) put(seq uint16, size int, sendUS int64) {
	h.slots[int(seq)&(historySize-1)].Store(packSlot(seq, size, sendUS))
}

// take returns the packet recorded for seq and marks it reported. ok is false
// if the slot holds another packet (overwritten: too old) or nothing;
// reported is true if feedback already covered it (its bytes were counted).
// nowUS unwraps the stored send time: the packet was sent at most 19 hours
// before nowUS.
func (h *history) take(seq uint16, nowUS int64) (sendUS int64, size int, reported, ok bool) {
	slot := &h.slots[int(seq)&(historySize-1)]
	for {
		v := slot.Load()
		if v == emptySlot || uint16(v>>slotSeqShift) != seq {
			return 0, 0, false, false
		}
		sendUS = unwrapTime(v&slotTimeMask, nowUS)
		size = int(v >> slotSizeShift & slotSizeMask)
		if v&slotReportedBit != 0 {
			return sendUS, size, true, true
		}
		if slot.CompareAndSwap(v, v|slotReportedBit) {
			return sendUS, size, false, true
		}
	}
}

// futureToleranceUS is how far after nowUS a stored time may lie (a packet
// recorded by another goroutine after the reader took its clock).
const futureToleranceUS = int64(60e6)

// unwrapTime returns the time within one wrap span around nowUS (at most
// futureToleranceUS after it) whose low 36 bits are t.
func unwrapTime(t uint64, nowUS int64) int64 {
	age := int64((uint64(nowUS) - t) & slotTimeMask)
	if age > slotTimeWrapSpan-futureToleranceUS {
		age -= slotTimeWrapSpan
	}
	return nowUS - age
}
