//go:build linux

package main

import "syscall"

// childSysProcAttr makes the kernel kill the edge child if the load tool dies without
// stopping it (Pdeathsig), so a crashed run never leaves a node behind.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
