//go:build !chaos

package chaos_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks the unit tests for leaked goroutines (the soaks, built
// with the chaos tag, have a TestMain of their own in main_test.go).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
