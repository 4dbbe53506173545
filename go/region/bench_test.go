package region

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func BenchmarkReserveCommit(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			r := newAnon(b, 64<<20)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				s, err := r.Reserve(1, 1, size)
				if err != nil {
					if err := r.Reset(); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if _, err := s.Commit(s.Buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReserveCommitParallel(b *testing.B) {
	r := newAnon(b, 64<<20)
	var mu sync.RWMutex // Reset needs exclusive use
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.RLock()
			s, err := r.Reserve(1, 1, 64)
			if err == nil {
				_, err = s.Commit(s.Buf)
			}
			mu.RUnlock()
			if err != nil {
				mu.Lock()
				_ = r.Reset()
				mu.Unlock()
			}
		}
	})
}

func BenchmarkFrame(b *testing.B) {
	r := newAnon(b, 1<<20)
	f := put(b, r, 1, 1, make([]byte, 100))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Frame(f.Offset); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	r := newAnon(b, 1<<20)
	for i := 0; i < 1000; i++ {
		put(b, r, 1, 1, make([]byte, 100))
	}
	b.ReportAllocs()
	var cursor uint64
	for b.Loop() {
		_, next, ok, err := r.Next(cursor)
		if err != nil {
			b.Fatal(err)
		}
		if !ok {
			next = 0
		}
		cursor = next
	}
}

// BenchmarkGuard compares the two ways to make Close safe against
// concurrent use: the sync.RWMutex the Region uses, and an atomic in-flight
// counter plus closed flag (Close would spin until the counter drains).
func BenchmarkGuard(b *testing.B) {
	b.Run("RWMutex", func(b *testing.B) {
		var g struct {
			mu     sync.RWMutex
			closed bool
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				g.mu.RLock()
				if g.closed {
					b.Error("closed")
				}
				g.mu.RUnlock()
			}
		})
	})
	b.Run("Counter", func(b *testing.B) {
		var g struct {
			inflight atomic.Int64
			closed   atomic.Bool
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				g.inflight.Add(1)
				if g.closed.Load() {
					b.Error("closed")
				}
				g.inflight.Add(-1)
			}
		})
		// Close would do this after setting closed:
		for g.inflight.Load() != 0 {
			runtime.Gosched()
		}
	})
}
