package main

import (
	"os"
	"runtime/pprof"
	"runtime/trace"
	"sync"
)

// startProfile CPU-profiles into path until the returned func is called
// (it may be called twice); an empty path profiles nothing.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	progress("8 cluster: CPU-profiling into %s", path)
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}

// startTrace writes a runtime/trace into path until the returned func is
// called (it may be called twice); an empty path traces nothing.
func startTrace(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, err
	}
	progress("8 cluster: tracing into %s", path)
	var once sync.Once
	return func() {
		once.Do(func() {
			trace.Stop()
			f.Close()
		})
	}, nil
}
