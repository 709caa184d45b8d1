package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// natsServer is the cluster section's NATS server, run by ./natsd in a
// process of its own so that the bench process does not link the server
// (see natsd's doc: the server's process sampler would allocate in the
// background of section 3's allocation counts).
type natsServer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error // Wait's result
	url   string
	dir   string // store and binary
}

// pid is the server's process id.
func (s *natsServer) pid() int { return s.cmd.Process.Pid }

// ClientURL is the server's client URL on the loopback interface.
func (s *natsServer) ClientURL() string { return s.url }

// benchDir is the bench module's directory: natsd is built from there.
func benchDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		if _, err := os.Stat(filepath.Join(filepath.Dir(file), "natsd", "main.go")); err == nil {
			return filepath.Dir(file)
		}
	}
	return "." // make bench runs in bench/
}

// startNATS builds and starts natsd with JetStream storing in a fresh
// temporary directory, listening on a free loopback port. It returns once
// the server accepts connections (at most about 30 s, plus the build).
func startNATS() (*natsServer, error) {
	dir, err := os.MkdirTemp("", "phoenixkitdb-bench-nats-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "natsd")
	build := exec.Command("go", "build", "-o", bin, "./natsd")
	build.Dir = benchDir()
	if out, err := build.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("build natsd: %w: %s", err, out)
	}
	s := &natsServer{dir: dir, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "-store", filepath.Join(dir, "store"))
	s.cmd.Stderr = os.Stderr
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout) // until natsd exits
	}()
	go func() { s.done <- s.cmd.Wait() }()
	select {
	case line, ok := <-lines:
		if ok && strings.HasPrefix(line, "nats://") {
			s.url = line
			return s, nil
		}
		s.stop()
		return nil, errors.New("natsd printed no client URL")
	case <-time.After(45 * time.Second):
		s.stop()
		return nil, errors.New("natsd not ready within 45 s")
	}
}

// stop closes natsd's stdin, which makes it shut down, waits for it (a
// kill after 30 s), and removes its directory.
func (s *natsServer) stop() {
	_ = s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	_ = os.RemoveAll(s.dir)
}
