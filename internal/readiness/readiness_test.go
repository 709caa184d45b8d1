package readiness_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/internal/readiness"
)

func TestFlag(t *testing.T) {
	var f readiness.Flag
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := f.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) || f.Get() {
		t.Fatalf("unset flag: Wait = %v, Get = %v", err, f.Get())
	}

	waited := make(chan error, 1)
	go func() { waited <- f.Wait(context.Background()) }()
	f.Set(true)
	if err := <-waited; err != nil || !f.Get() {
		t.Fatalf("after Set(true): Wait = %v, Get = %v", err, f.Get())
	}
	if err := f.Wait(context.Background()); err != nil {
		t.Fatalf("Wait on a set flag = %v", err)
	}

	f.Set(false)
	f.Set(false) // idempotent
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if err := f.Wait(ctx2); !errors.Is(err, context.DeadlineExceeded) || f.Get() {
		t.Fatalf("after Set(false): Wait = %v, Get = %v", err, f.Get())
	}
	f.Set(true)
	f.Set(true) // idempotent: closing twice would panic
	if !f.Get() {
		t.Fatal("Set(true) after Set(false) did not set the flag")
	}
}
