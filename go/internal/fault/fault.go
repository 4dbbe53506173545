// Package fault tells memory faults apart from other panics.
//
// Region and channel memory is a shared mapping: when another process
// truncates its file, touching the lost pages raises SIGBUS, which the
// region's calls (and the C ABI) run with debug.SetPanicOnFault and turn
// into ErrTruncated. A decoder or encoder that recovers its own panics to
// report malformed input must let those faults through, or a truncation
// would read as a malformed message.
package fault

// Is reports whether p, a value recovered from a panic, is a memory fault.
func Is(p any) bool {
	_, ok := p.(interface{ Addr() uintptr })
	return ok
}

// Repanic panics again with p when it is a memory fault, for the guard of
// the call to report; recovers of other panics call it first.
func Repanic(p any) {
	if Is(p) {
		panic(p)
	}
}
