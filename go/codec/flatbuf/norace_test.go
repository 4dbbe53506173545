//go:build !race

package flatbuf

const raceEnabled = false
