package pgtest

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// freshTempDir points TMPDIR (where Start puts servers and the template)
// at a new directory every user can traverse, removed when the test ends,
// so that the test builds its own template.
func freshTempDir(t *testing.T) string {
	t.Helper()
	if _, err := findBinDir(""); err != nil {
		if errors.Is(err, ErrNoPostgres) && !inCI() {
			t.Skip(missingLine)
		}
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "pgtest-template-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", dir)
	return dir
}

// startServer starts a server closed by t.Cleanup.
func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// serverSystemIdentifier asks the server for its system identifier.
func serverSystemIdentifier(t *testing.T, s *Server) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var id int64 // bigint: the identifier's bits as a signed number
	err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT system_identifier FROM pg_control_system()`).Scan(&id)
	})
	if err != nil {
		t.Fatalf("reading the system identifier: %v", err)
	}
	return uint64(id)
}

// fileSystemIdentifier reads the identifier in dataDir's pg_control.
func fileSystemIdentifier(t *testing.T, dataDir string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, controlFile))
	if err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b)
}

// Servers made at once from one template: the template is built once, and
// each copy runs with a system identifier of its own, the one pgtest wrote
// (the server is the oracle), as separate initdb runs would. Then an
// identifier chosen here, written into a stopped server, is the one the
// server reports after a restart. Run it with PHOENIXKITDB_PG_BINDIR set
// to check another version.
func TestTemplateSystemIdentifier(t *testing.T) {
	tmp := freshTempDir(t)
	// Templates of the same binaries made yesterday and three days ago:
	// the first stays, the second is removed as today's is made.
	key, as := testTemplateKey(t)
	today := time.Now().Unix() / int64(templateDay/time.Second)
	yesterday, old := fakeTemplate(t, as, templateRoot(key, today-1)), fakeTemplate(t, as, templateRoot(key, today-3))
	const n = 3
	servers := make([]*Server, n)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() {
			s, err := Start(t.Context(), Options{})
			if err != nil {
				t.Error(err)
				return
			}
			servers[i] = s
		})
	}
	wg.Wait()
	for _, s := range servers {
		if s != nil {
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			})
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	templates, err := filepath.Glob(filepath.Join(tmp, "pgtest-template-*"))
	templates = slices.DeleteFunc(templates, func(p string) bool { return strings.HasSuffix(p, ".lock") || p == yesterday })
	if err != nil || len(templates) != 1 || templates[0] != templateRoot(key, today) {
		t.Fatalf("template directories besides yesterday's = %v, %v; want today's only (%s gone)", templates, err, old)
	}
	seen := map[uint64]bool{fileSystemIdentifier(t, filepath.Join(templates[0], "data")): true}
	for _, s := range servers {
		got, written := serverSystemIdentifier(t, s), fileSystemIdentifier(t, s.DataDir())
		if got != written {
			t.Fatalf("server reports system identifier %d; pg_control holds %d", got, written)
		}
		if got >= 1<<63 {
			t.Fatalf("system identifier %d is a negative bigint in SQL, which no initdb before 2038 makes", got)
		}
		if seen[got] {
			t.Fatalf("system identifier %d shared with the template or another server", got)
		}
		seen[got] = true
	}

	s := servers[0]
	for _, want := range []uint64{0x0123456789abcdef, 1<<63 | 42} {
		if err := s.Stop("fast"); err != nil {
			t.Fatal(err)
		}
		if err := setSystemIdentifier(s.DataDir(), want); err != nil {
			t.Fatal(err)
		}
		if err := s.Resume(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := serverSystemIdentifier(t, s); got != want {
			t.Fatalf("after writing %d the server reports %d", want, got)
		}
	}
}

// testTemplateKey returns the template key of the binaries found and the
// server user.
func testTemplateKey(t *testing.T) (string, *runAs) {
	t.Helper()
	binDir, err := findBinDir("")
	if err != nil {
		t.Fatal(err)
	}
	as, err := serverUser()
	if err != nil {
		t.Fatal(err)
	}
	key, err := templateKey(binDir, as)
	if err != nil {
		t.Fatal(err)
	}
	return key, as
}

// fakeTemplate makes an empty template directory at root with the owners
// and modes pgtest gives one, and returns root.
func fakeTemplate(t *testing.T, as *runAs, root string) string {
	t.Helper()
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := as.chown(data); err != nil {
		t.Fatal(err)
	}
	return root
}

// A directory with the template's name that pgtest did not make (here
// writable by everyone) is not used: Start makes its cluster with initdb
// and leaves the directory alone.
func TestTemplateIgnoresForeignDirectory(t *testing.T) {
	freshTempDir(t)
	key, _ := testTemplateKey(t)
	root := templateRoot(key, time.Now().Unix()/int64(templateDay/time.Second))
	if err := os.Mkdir(root, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	s := startServer(t)
	if id := serverSystemIdentifier(t, s); id != fileSystemIdentifier(t, s.DataDir()) {
		t.Fatalf("server reports %d, pg_control holds something else", id)
	}
	if entries, err := os.ReadDir(root); err != nil || len(entries) != 0 {
		t.Fatalf("the foreign directory was touched: %v, %v", entries, err)
	}
}

// fakeCluster writes a data directory holding a pg_control of the given
// bytes and one WAL segment whose long header carries walID.
func fakeCluster(t *testing.T, control []byte, walID uint64) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"global", "pg_wal"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, controlFile), control, 0o600); err != nil {
		t.Fatal(err)
	}
	seg := make([]byte, 8192)
	binary.LittleEndian.PutUint16(seg[2:], xlpLongHeader)
	binary.LittleEndian.PutUint64(seg[walSysidOffset:], walID)
	if err := os.WriteFile(filepath.Join(dir, "pg_wal", "000000010000000000000001"), seg, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// controlBytes returns an 8 kB control file with identifier id and the
// CRC-32C of the bytes before crcOff stored at crcOff.
func controlBytes(id uint64, crcOff int) []byte {
	b := make([]byte, 8192)
	binary.LittleEndian.PutUint64(b, id)
	for i := 8; i < crcOff; i++ {
		b[i] = byte(i * 7)
	}
	binary.LittleEndian.PutUint32(b[crcOff:], crc32.Checksum(b[:crcOff], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// setSystemIdentifier rewrites a well-formed cluster whatever the CRC's
// offset, and refuses, writing nothing, when the CRC cannot be found or
// no WAL segment carries the identifier.
func TestSetSystemIdentifierLayouts(t *testing.T) {
	const old, id = 111, 222
	for _, crcOff := range []int{16, 296, 304, 8188} {
		dir := fakeCluster(t, controlBytes(old, crcOff), old)
		if err := setSystemIdentifier(dir, id); err != nil {
			t.Fatalf("crc at %d: %v", crcOff, err)
		}
		control, err := os.ReadFile(filepath.Join(dir, controlFile))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := controlCRCOffset(control); !ok || got != crcOff || binary.LittleEndian.Uint64(control) != id {
			t.Fatalf("crc at %d: after the rewrite the CRC is at %d (%v), the identifier %d", crcOff, got, ok, binary.LittleEndian.Uint64(control))
		}
		seg, err := os.ReadFile(filepath.Join(dir, "pg_wal", "000000010000000000000001"))
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint64(seg[walSysidOffset:]); got != id {
			t.Fatalf("crc at %d: the WAL segment carries %d", crcOff, got)
		}
	}

	corrupt := controlBytes(old, 296)
	corrupt[100] ^= 1
	for name, dir := range map[string]string{
		"bad CRC":          fakeCluster(t, corrupt, old),
		"WAL of another":   fakeCluster(t, controlBytes(old, 296), old+1),
		"short pg_control": fakeCluster(t, controlBytes(old, 296)[:12], old),
	} {
		before, _ := os.ReadFile(filepath.Join(dir, controlFile))
		if err := setSystemIdentifier(dir, id); !errors.Is(err, errControlLayout) {
			t.Fatalf("%s: err = %v; want errControlLayout", name, err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, controlFile))
		if string(before) != string(after) {
			t.Fatalf("%s: pg_control changed", name)
		}
	}
}

// FuzzControlCRCOffset: an offset found holds the CRC of the bytes before
// it, is 4-aligned, and no earlier offset does.
func FuzzControlCRCOffset(f *testing.F) {
	f.Add(controlBytes(1, 296))
	f.Add(controlBytes(1, 16)[:64])
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, ok := controlCRCOffset(b)
		if !ok {
			return
		}
		tab := crc32.MakeTable(crc32.Castagnoli)
		if k%4 != 0 || k < 16 || crc32.Checksum(b[:k], tab) != binary.LittleEndian.Uint32(b[k:]) {
			t.Fatalf("offset %d does not hold the CRC", k)
		}
		for j := 16; j < k; j += 4 {
			if crc32.Checksum(b[:j], tab) == binary.LittleEndian.Uint32(b[j:]) {
				t.Fatalf("offset %d found, but %d holds the CRC too", k, j)
			}
		}
	})
}
