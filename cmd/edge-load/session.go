package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// session sequences one measurement against a running node.
type session struct {
	o     options
	log   zerolog.Logger
	node  *nodeProcess
	ticks int64 // clock ticks per second
}

// measure waits for the publisher's media to reach the node, samples the baseline RSS, joins
// the subscribers, warms up, and measures over o.duration.
func (s *session) measure(ctx context.Context, jp joinParams, pub *publisher, subs []*subscriber) (measurement, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	metricsURL := s.node.metricsURL()
	pid := s.node.pid()

	if err := s.waitPublisherMedia(ctx, client, metricsURL); err != nil {
		return measurement{}, err
	}
	// The settle pause doubles as the publisher-only baseline: ingest cost without subscribers.
	t0, err := procCPUTicks(pid)
	if err != nil {
		return measurement{}, err
	}
	w0 := time.Now()
	if err := s.sleep(ctx, s.o.settle); err != nil {
		return measurement{}, err
	}
	t1, err := procCPUTicks(pid)
	if err != nil {
		return measurement{}, err
	}
	var pubOnlyCores float64
	if el := time.Since(w0).Seconds(); el > 0 {
		pubOnlyCores = float64(t1-t0) / float64(s.ticks) / el
	}
	rssBefore, err := procRSS(pid)
	if err != nil {
		return measurement{}, err
	}
	s.log.Info().Float64("rss_mib", float64(rssBefore)/mib).Int("subs", len(subs)).Msg("publisher flowing; joining subscribers")

	start := time.Now()
	if err := joinAll(ctx, subs, jp, s.o.joinParallel); err != nil {
		return measurement{}, err
	}
	s.log.Info().Dur("took", time.Since(start).Round(time.Millisecond)).Msg("subscribers joined; warming up")
	if err := s.warmup(ctx, subs); err != nil {
		return measurement{}, err
	}
	if err := s.sleep(ctx, s.o.settle); err != nil {
		return measurement{}, err
	}

	p := &prober{kind: s.node.kind, nodePID: pid, metricsURL: metricsURL, client: client, subs: subs, dynacast: pub.dynacast}
	a, err := p.take(ctx)
	if err != nil {
		return measurement{}, fmt.Errorf("first probe: %w", err)
	}
	s.log.Info().Dur("duration", s.o.duration).Msg("measuring")
	if err := s.sleep(ctx, s.o.duration); err != nil {
		return measurement{}, err
	}
	b, err := p.take(ctx)
	if err != nil {
		return measurement{}, fmt.Errorf("second probe: %w", err)
	}
	m, err := diff(s.node.kind, a, b, s.ticks)
	if err != nil {
		return measurement{}, err
	}
	if m.rssEnd, err = procRSS(pid); err != nil {
		return measurement{}, err
	}
	m.rssBeforeSubs = rssBefore
	m.pubOnlyCores = pubOnlyCores
	m.pub = pub.stats()
	return m, nil
}

// waitPublisherMedia polls /metrics until the node has received RTP from the publisher
// (bounded at 30 s).
func (s *session) waitPublisherMedia(ctx context.Context, client *http.Client, url string) error {
	return s.poll(ctx, 30*time.Second, 250*time.Millisecond, func() (bool, error) {
		sc, err := fetchMetrics(ctx, client, url)
		if err != nil {
			return false, err
		}
		in, err := sc.must(s.node.kind.pktsIn.name, s.node.kind.pktsIn.match)
		return in > 0, err
	}, "publisher media at the node")
}

// warmup waits until every subscriber has received both tracks, bounded by o.warmup. When the
// bound passes with only some subscribers ready, it logs and lets the measurement go on (the
// report counts only the tracks that actually flowed); with none ready it fails.
func (s *session) warmup(ctx context.Context, subs []*subscriber) error {
	countReady := func() int {
		n := 0
		for _, sub := range subs {
			if sub.ready() {
				n++
			}
		}
		return n
	}
	start := time.Now()
	err := s.poll(ctx, s.o.warmup, 200*time.Millisecond, func() (bool, error) {
		return countReady() == len(subs), nil
	}, "every subscriber receiving audio and video")
	ready := countReady()
	switch {
	case err == nil:
		s.log.Info().Dur("took", time.Since(start).Round(time.Millisecond)).Msg("every subscriber receives both tracks")
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case s.node.alive() != nil:
		return s.node.alive()
	case ready == 0:
		return fmt.Errorf("%w: no subscriber received both tracks in %s", errWarmup, s.o.warmup)
	default:
		s.log.Warn().Int("ready", ready).Int("subs", len(subs)).Msg("warm-up bound reached; measuring anyway")
		return nil
	}
}

// poll calls cond every interval until it returns true, the node exits, ctx ends or bound
// passes. The last error from cond is returned if the bound passes.
func (s *session) poll(ctx context.Context, bound, interval time.Duration, cond func() (bool, error), what string) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last error
	for {
		if err := s.node.alive(); err != nil {
			return err
		}
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waiting for %s: %w (last error: %w)", what, ctx.Err(), last)
			}
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// sleep waits d, returning early if ctx ends or the node exits.
func (s *session) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return s.node.alive()
	case <-ctx.Done():
		return ctx.Err()
	case <-s.node.exited:
		return s.node.alive()
	}
}
