//go:build race

package schema

// sync.Pool drops items at random under -race, so pooled paths allocate there.
const raceEnabled = true
