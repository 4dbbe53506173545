//go:build !race

package capnp

const raceEnabled = false
