// Package bwe estimates the bandwidth available towards one subscriber from
// its transport-wide congestion control feedback (TWCC,
// draft-holmer-rmcat-transport-wide-cc-extensions-01), with the receiver's
// REMB as a fallback for clients that do not send TWCC.
//
// An Estimator is fed three things: every RTP packet sent on the
// subscriber's PeerConnection (its transport-wide sequence number and size,
// recorded lock-free and without allocating), the TWCC feedback the
// subscriber returns, and explicit probe windows. From the feedback it learns
// which packets arrived and when, and derives:
//
//   - the delivered bitrate;
//   - the queueing delay: one-way delay above its minimum over the last ten
//     seconds. A standing queue that does not drain means the sender exceeds
//     the bottleneck;
//   - the loss ratio.
//
// Rates are counted as on the wire (RTP size plus PacketOverhead for the
// SRTP tag and the UDP and IP headers), so that small padding packets and
// large media packets are comparable.
//
// Congestion (a standing, non-draining queue in two consecutive reports, or
// more than 10 % loss) sets the estimate to 85 % of the delivered rate and
// remembers that rate as the link's capacity. Without congestion the
// estimate recovers quickly towards 95 % of the remembered capacity and grows
// slowly beyond it, never above 1.25 times what is actually delivered: an
// estimate is only believed up to what has been seen to work.
//
// To learn that more fits, the caller probes: it opens a window with
// StartProbe and sends padding so that the total rate reaches a target. The
// estimator closes the window early when its packets start to queue
// (ProbeWindowOpen turns false). It then compares the rate the window was
// sent at with the rate the later half of its packets arrived at (a token
// bucket in the path lets the start of a burst through at any rate) and
// looks at the queueing delay's growth over the window. If the link carried
// the window, the estimate rises to its rate; if the window hit the
// bottleneck, what got through is the capacity, and the queue the probe left
// behind is not taken for congestion while it drains.
//
// The Interceptor glues an Estimator to a pion PeerConnection: it records
// outgoing packets after pion's TWCC header-extension interceptor numbered
// them, and reads TWCC and REMB from incoming RTCP. The Factory creates one
// per PeerConnection and finds it again by the PeerConnection's ID.
//
// Time is injected everywhere (method arguments), so the estimator is tested
// against a simulated bottleneck without sleeping.
package bwe
