package pgtest

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// process is one run of the postmaster. A single goroutine owns the exec.Cmd
// from Start to Wait; everybody else only signals it and waits on done.
type process struct {
	proc *os.Process
	done chan struct{} // closed once the postmaster has exited and been reaped
	err  error         // Wait's result; read only after done is closed
}

// startProcess starts cmd on a goroutine that stays locked to its OS thread
// until the process has been reaped. Pdeathsig fires when the thread that
// forked the child exits, not the process; keeping the thread locked means
// that thread lives exactly as long as the test binary, so Pdeathsig only
// fires when the test binary itself dies.
func startProcess(cmd *exec.Cmd) (*process, error) {
	p := &process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(p.done)
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.proc = cmd.Process
		started <- nil
		p.err = cmd.Wait()
	}()
	if err := <-started; err != nil {
		<-p.done
		return nil, err
	}
	return p, nil
}

// exited reports whether the process has exited and been reaped.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig; signalling a process that has already exited is not an error.
func (p *process) signal(sig syscall.Signal) error {
	if err := p.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}
