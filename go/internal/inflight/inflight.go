// Package inflight lets a mapping be closed while other goroutines use it:
// operations in flight finish on valid memory, later ones are refused, and
// the closer unmaps only after the last one has left.
//
// A Guard counts operations in flight; its top bit is the closed flag. An
// operation that enters after the flag is set leaves at once. Entering costs
// one atomic add, and nesting is fine (unlike a read lock, which deadlocks
// when a writer waits between two read acquisitions).
package inflight

import (
	"sync"
	"sync/atomic"
)

// Guard is the zero-value-ready in-flight counter of one mapping.
type Guard struct {
	n       atomic.Int64
	once    sync.Once
	mu      sync.Mutex // guards drained's creation
	drained chan struct{}
}

const closedBit = int64(1) << 62

// Enter starts an operation; it reports false once Close has begun. Every
// successful Enter must be paired with Leave.
func (g *Guard) Enter() bool {
	if g.n.Add(1)&closedBit != 0 {
		g.Leave()
		return false
	}
	return true
}

// Leave ends an operation.
func (g *Guard) Leave() {
	if g.n.Add(-1) == closedBit {
		g.signal()
	}
}

// Closing reports whether Close has begun.
func (g *Guard) Closing() bool { return g.n.Load()&closedBit != 0 }

func (g *Guard) channel() chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.drained == nil {
		g.drained = make(chan struct{})
	}
	return g.drained
}

func (g *Guard) signal() { g.once.Do(func() { close(g.channel()) }) }

// Close sets the closed flag and waits until no operation is in flight. It
// reports false if Close had begun already.
func (g *Guard) Close() bool {
	ch := g.channel()
	old := g.n.Or(closedBit)
	if old&closedBit != 0 {
		return false
	}
	if old == 0 {
		g.signal()
	}
	<-ch
	return true
}
