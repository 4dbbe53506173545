//go:build linux && race

package channel

// Child processes re-exec the race-instrumented test binary, which starts
// several times slower: the process tests scale down under -race.
const raceEnabled = true
