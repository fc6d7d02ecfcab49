//go:build race

package lightgbm

func init() { raceEnabled = true }
