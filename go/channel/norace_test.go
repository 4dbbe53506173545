//go:build linux && !race

package channel

const raceEnabled = false
