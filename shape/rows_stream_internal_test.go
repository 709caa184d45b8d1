package shape

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenixkit/phoenixkitdb/pubsub"
)

// TestRowsStream: Rows handed over while they are built (rowsBuilder.stream)
// grow by whole blocks; a reader waiting with Wait meanwhile sees every row
// it is given exactly as it went in (under -race: the views share the
// builder's memory), Complete turns true only with end, and a failed
// build ends every Wait with its error.
func TestRowsStream(t *testing.T) {
	layout, err := pubsub.NewRowLayout([]pubsub.ColumnType{{Name: "id", OID: 25}, {Name: "v", OID: 25}})
	if err != nil {
		t.Fatal(err)
	}
	text := func(i int) string { return strings.Repeat(string(rune('a'+i%26)), 1+i%700) }
	const n = 3*rowsPageRows + 100 // several pages, about 30 blocks
	for _, failAt := range []int{-1, 2 * rowsPageRows} {
		b := newRowsBuilder(layout, []int{0})
		add := func(i int) {
			if err := b.add([][]byte{[]byte(strconv.Itoa(i)), []byte(text(i))}); err != nil {
				t.Fatal(err)
			}
		}
		add(0)
		r := b.stream()
		if r.Complete() || r.Len() != 0 {
			t.Fatalf("a stream of one row in an unfinished block: Len %d, Complete %v", r.Len(), r.Complete())
		}
		var (
			wg   sync.WaitGroup
			seen []int // the Len of each Wait
			werr error
			acks = make(chan int, 1) // the rows the reader has read
		)
		wg.Go(func() {
			defer close(acks)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			read := 0
			for !r.Complete() || read < r.Len() {
				got, err := r.Wait(ctx, read)
				if err != nil {
					werr = err
					return
				}
				for i := read; i < got; i++ {
					if r.Key(i) != strconv.Itoa(i) {
						werr = errors.New("row " + strconv.Itoa(i) + ": key " + r.Key(i))
						return
					}
					if st, v := r.At(i, 1); st != pubsub.Present || v != text(i) {
						werr = errors.New("row " + strconv.Itoa(i) + ": wrong text")
						return
					}
				}
				read = got
				seen = append(seen, got)
				acks <- got
			}
		})
		// Each time rows appear, the builder waits for the reader to
		// read them: the rows are read while the next ones are built.
		acked := 0
		for i := 1; i < n; i++ {
			if i == failAt {
				break
			}
			add(i)
			for acked < r.Len() {
				a, ok := <-acks
				if !ok {
					t.Fatalf("the reader stopped: %v", werr)
				}
				acked = a
			}
		}
		if failAt >= 0 {
			b.fail(errors.New("the query failed"))
			for range acks {
			}
			wg.Wait()
			if werr == nil || werr.Error() != "the query failed" || r.Complete() {
				t.Fatalf("after fail: Wait %v, Complete %v", werr, r.Complete())
			}
			continue
		}
		if got := b.rows(); got != r {
			t.Fatal("rows returned another Rows than the one streamed")
		}
		if r.Complete() {
			t.Fatal("complete before end")
		}
		b.end()
		for range acks {
		}
		wg.Wait()
		if werr != nil {
			t.Fatal(werr)
		}
		if r.Len() != n || len(seen) < 5 || seen[len(seen)-1] != n {
			t.Fatalf("Len %d (want %d), read in %d steps ending at %v: the rows did not arrive in steps", r.Len(), n, len(seen), seen[len(seen)-1:])
		}
		if keys := r.keyList(); len(keys) != n || keys[n-1] != strconv.Itoa(n-1) {
			t.Fatalf("keyList: %d keys", len(keys))
		}
	}
}
