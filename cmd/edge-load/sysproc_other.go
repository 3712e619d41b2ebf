//go:build !linux

package main

import "syscall"

// childSysProcAttr has no parent-death signal outside Linux; the tool's measurements need
// Linux /proc anyway.
func childSysProcAttr() *syscall.SysProcAttr {
	return nil
}
