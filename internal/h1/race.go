//go:build race

package h1

// raceEnabled: built with the race detector (see newSysConn).
const raceEnabled = true
