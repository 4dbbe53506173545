//go:build !linux

// Package channel needs Linux: futexes for wake-ups, sealed memfds and
// open-file-description locks for peer liveness. Elsewhere it is empty.
package channel
