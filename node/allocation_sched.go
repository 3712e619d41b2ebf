package node

import (
	"sync"
	"time"
)

// allocScheduler runs every subscriber allocation of the node on one goroutine: all of them
// step on one shared tick, and those with a probe running write their padding on one shared
// pump tick. One goroutine per subscriber, each with its own 200 ms ticker (and a 10 ms one
// while probing), cost more than the work: on a node fanning out to 50 subscribers they were a
// fifth of all goroutine wake-ups (measured with a runtime trace; BENCHMARKS.md). A step is a
// few microseconds (BenchmarkAllocationStep20), so one goroutine serves thousands of
// subscribers per tick.
//
// The goroutine runs while the scheduler has members and ends with the last one.
type allocScheduler struct {
	tick, pump time.Duration
	// goAdd registers the goroutine with its owner (false: shutting down, do not start);
	// goDone reports that it ended.
	goAdd  func() bool
	goDone func()

	mu      sync.Mutex // guards everything below and the sched* fields of the members
	members []*subscriberAllocation
	dirty   []*subscriberAllocation // members with queued track changes or a stop
	running bool
	wake    chan struct{} // capacity 1: dirty is not empty
}

func newAllocScheduler(tick, pump time.Duration, goAdd func() bool, goDone func()) *allocScheduler {
	return &allocScheduler{tick: tick, pump: pump, goAdd: goAdd, goDone: goDone, wake: make(chan struct{}, 1)}
}

// add makes s a member and has its queued changes applied at once. It reports false if the
// goroutine could not be started (the owner is shutting down); s is then not a member.
func (sc *allocScheduler) add(s *subscriberAllocation) bool {
	sc.mu.Lock()
	if !sc.running {
		if !sc.goAdd() {
			sc.mu.Unlock()
			return false
		}
		sc.running = true
		go sc.run()
	}
	s.sched, s.schedMember = sc, true
	sc.members = append(sc.members, s)
	sc.markLocked(s)
	sc.mu.Unlock()
	sc.poke()
	return true
}

// changed tells the scheduler that member s has queued changes or was stopped.
func (sc *allocScheduler) changed(s *subscriberAllocation) {
	sc.mu.Lock()
	if !s.schedMember {
		sc.mu.Unlock()
		return // not added yet: add applies what is queued
	}
	sc.markLocked(s)
	sc.mu.Unlock()
	sc.poke()
}

func (sc *allocScheduler) markLocked(s *subscriberAllocation) {
	if !s.schedDirty {
		s.schedDirty = true
		sc.dirty = append(sc.dirty, s)
	}
}

func (sc *allocScheduler) poke() {
	select {
	case sc.wake <- struct{}{}:
	default:
	}
}

// run is the goroutine: it applies changes as they come, steps every member each tick and
// pumps padding each pump tick while a member probes. It returns when no member is left.
func (sc *allocScheduler) run() {
	defer sc.goDone()
	tick := time.NewTicker(sc.tick)
	defer tick.Stop()
	pump := time.NewTicker(sc.pump)
	pump.Stop()
	defer pump.Stop()
	pumping := false
	var batch []*subscriberAllocation // reused
	for {
		var pumpC <-chan time.Time
		if pumping {
			pumpC = pump.C
		}
		select {
		case <-sc.wake:
			batch = sc.takeDirty(batch[:0])
			now := time.Now()
			for _, s := range batch {
				if s.isStopped() {
					s.retract()
					sc.drop(s)
					continue
				}
				if s.applyPending() {
					// Decide for new tracks at once: until then a down-track forwards what its
					// subscriber asked for, which a constrained link may not carry.
					s.step(now)
				}
			}
		case now := <-tick.C:
			batch = sc.snapshot(batch[:0])
			for _, s := range batch {
				s.step(now)
			}
		case now := <-pumpC:
			batch = sc.snapshot(batch[:0])
			for _, s := range batch {
				s.pumpPadding(now)
			}
		}
		batch = sc.snapshot(batch[:0])
		if len(batch) == 0 && sc.exitIfIdle() {
			return
		}
		probing := false
		for _, s := range batch {
			probing = probing || s.probe.running
		}
		switch {
		case probing && !pumping:
			pump.Reset(sc.pump)
			pumping = true
		case !probing && pumping:
			pump.Stop()
			pumping = false
		}
		clear(batch) // no references kept while waiting
	}
}

func (sc *allocScheduler) takeDirty(into []*subscriberAllocation) []*subscriberAllocation {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, s := range sc.dirty {
		s.schedDirty = false
	}
	into = append(into, sc.dirty...)
	clear(sc.dirty)
	sc.dirty = sc.dirty[:0]
	return into
}

func (sc *allocScheduler) snapshot(into []*subscriberAllocation) []*subscriberAllocation {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return append(into, sc.members...)
}

// drop removes stopped member s.
func (sc *allocScheduler) drop(s *subscriberAllocation) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for i, m := range sc.members {
		if m == s {
			last := len(sc.members) - 1
			sc.members[i] = sc.members[last]
			sc.members[last] = nil
			sc.members = sc.members[:last]
			break
		}
	}
	s.schedMember = false
}

// exitIfIdle ends the goroutine's turn if no member is left and nothing is queued.
func (sc *allocScheduler) exitIfIdle() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.members) > 0 || len(sc.dirty) > 0 {
		return false
	}
	sc.running = false
	return true
}
