//go:build !race

package udpgso

const raceEnabled = false
