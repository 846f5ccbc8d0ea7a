//go:build !race

package live

// raceEnabled scales the heaviest tests down under the race detector, which
// makes encoding and parsing about ten times slower.
const raceEnabled = false
