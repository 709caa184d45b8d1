// Command pgcheck prints one line saying which PostgreSQL the database
// tests will use, or that they will be skipped and how to install it.
// `make test` runs it first because go test shows a passing package's
// output (and with it the harness's own message and every skip) only
// with -v. It always exits 0: the tests themselves decide what a missing
// server means (a skip locally, a failure with CI=true).
package main

import (
	"fmt"
	"os"

	"github.com/phoenixkit/phoenixkitdb/internal/pgtest"
)

func main() {
	line, ok := pgtest.Describe()
	if ok {
		fmt.Println(line)
		return
	}
	fmt.Fprintln(os.Stderr, line)
}
