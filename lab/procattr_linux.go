package lab

import "syscall"

// childAttr makes a child server die with this process, even when it is killed.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
