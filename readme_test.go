package phoenixkitdb_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeQuickStartIsTheExample keeps the README's Quick start and
// examples/quickstart/main.go identical, so the block a new user copies is
// the program that `go vet ./...` compiles and TestQuickstart runs.
func TestReadmeQuickStartIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile("examples/quickstart/main.go")
	if err != nil {
		t.Fatal(err)
	}
	block := "```go\n" + string(prog) + "```\n"
	if !strings.Contains(string(readme), block) {
		t.Fatal("README.md's Quick start differs from examples/quickstart/main.go: paste the file into the ```go block verbatim")
	}
	if !strings.Contains(string(readme), "go get github.com/phoenixkit/phoenixkitdb") {
		t.Error("README.md's Quick start lacks the `go get github.com/phoenixkit/phoenixkitdb` line")
	}
}
