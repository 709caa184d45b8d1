package replication_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/phoenixkit/phoenixkitdb/pubsub"
	"github.com/phoenixkit/phoenixkitdb/replication"
)

// CREATE_REPLICATION_SLOT waits for every transaction that wrote
// something and was open when it began. That wait is no dead connection:
// the Source names the backend it waits for, and streams once it ended.
func TestSlotCreationWaitsForOpenTransaction(t *testing.T) {
	b := setup(t, options{noServe: true, cfg: replication.Config{Timeout: time.Second}})
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(b.url)
	if err != nil {
		t.Fatal(err)
	}
	const app = "long-batch-job"
	cfg.RuntimeParams["application_name"] = app
	holder, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close(context.Background()) })
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO other VALUES (1, 'held')`); err != nil {
		t.Fatal(err)
	}
	pid := int(holder.PgConn().PID())

	b.stop = serve(t, b.src)
	want := "pid=" + itoa(pid) + ` application_name=\"` + app + `\"`
	eventually(t, 30*time.Second, "a WARN naming the open transaction", func() bool {
		return strings.Contains(b.logs.String(), want)
	})
	if st := b.src.Stats(); !st.CreatingSlot || st.Connected {
		t.Fatalf("stats while the slot is created: %+v", st)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	waitReady(t, b.src)
	expectResync(t, b.mb, pubsub.ReasonStart, 10*time.Second)
	insert(t, connect(t, b.url), 1, 3, 1)
	c := &collector{t: t, next: 1}
	c.take(b.mb, 3, 30*time.Second)
	logs := b.logs.String()
	for _, bad := range []string{"unreachable", "connection lost", "cannot connect"} {
		if strings.Contains(logs, bad) {
			t.Errorf("the log says %q; logs:\n%s", bad, logs)
		}
	}
	if st := b.src.Stats(); st.CreatingSlot || st.LastError != "" {
		t.Errorf("stats: %+v", st)
	}
}
