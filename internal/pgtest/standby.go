package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// StandbyOptions configures StartStandby. The zero value is ready to use.
type StandbyOptions struct {
	// Slot is the physical replication slot the standby streams through
	// (primary_slot_name), created on the primary when missing. Default
	// "standby". PostgreSQL 17's failover slots need it: the primary's
	// synchronized_standby_slots names it.
	Slot string

	// Settings are extra postgresql.conf settings of the standby, applied
	// last (say {"sync_replication_slots": "on"} on 17 and later).
	Settings map[string]string
}

// DefaultStandbySlot is StandbyOptions.Slot's default.
const DefaultStandbySlot = "standby"

// StartStandby makes a physical standby of s (a server made by Start) and
// starts it: it creates the physical slot on s, stops s (fast shutdown),
// copies its data directory, starts s again on the same port, and starts
// the copy with standby.signal, streaming from s over loopback as the
// postgres user (primary_conninfo names dbname=postgres, as slot
// synchronisation needs), hot_standby_feedback on and its own port and
// socket directory. It returns once the standby accepts read-only
// connections and its WAL receiver streams. s needs wal_level replica or
// logical and free WAL senders. A copy of a cleanly stopped cluster is a
// valid base backup; it needs no pg_basebackup, which some server packages
// lack. s's clients are disconnected by the restart. The caller closes
// the standby. ctx bounds the whole (a minute when it has no deadline).
func (s *Server) StartStandby(ctx context.Context, opts StandbyOptions) (*Server, error) {
	if s.external != nil {
		return nil, ErrExternal
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	slot := opts.Slot
	if slot == "" {
		slot = DefaultStandbySlot
	}
	err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `SELECT pg_create_physical_replication_slot($1, true)
WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, slot)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgtest: standby: creating slot %q: %w", slot, err)
	}
	dir, err := os.MkdirTemp("", "pgtest-standby-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	st := &Server{
		logger:  s.logger,
		host:    s.host,
		binDir:  s.binDir,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		sockDir: filepath.Join(dir, "sock"),
		logPath: filepath.Join(dir, "postgres.log"),
		as:      s.as,
	}
	if err := st.prepareDirs(); err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := s.StopContext(ctx, "fast"); err != nil {
		_ = st.Close()
		return nil, err
	}
	copyErr := s.copyDataTo(ctx, st)
	if err := s.Resume(ctx); err != nil {
		_ = st.Close()
		return nil, errors.Join(copyErr, err)
	}
	if copyErr != nil {
		_ = st.Close()
		return nil, copyErr
	}
	if err := st.configureStandby(s, slot, opts.Settings); err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := st.launchStandby(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	if err := st.waitStreaming(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	return st, nil
}

// copyDataTo copies s's stopped data directory into st's (empty) one, as
// the server user so the files keep their owner, and leaves out what
// pg_basebackup leaves out: the postmaster's pid and options files and
// the replication slots (a standby has none of its own at first).
func (s *Server) copyDataTo(ctx context.Context, st *Server) error {
	cmd := exec.CommandContext(ctx, "cp", "-a", s.dataDir+"/.", st.dataDir)
	cmd.SysProcAttr = s.sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: standby: copying the data directory: %w: %s", err, out)
	}
	for _, name := range []string{"postmaster.pid", "postmaster.opts"} {
		if err := os.Remove(filepath.Join(st.dataDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	slots, err := filepath.Glob(filepath.Join(st.dataDir, "pg_replslot", "*"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	for _, p := range slots {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	return nil
}

// configureStandby writes standby.signal and the standby's settings after
// the primary's: its own socket directory, the connection to the primary
// and its slot, hot_standby_feedback, then extra.
func (st *Server) configureStandby(primary *Server, slot string, extra map[string]string) error {
	if err := st.writeOwned("standby.signal", nil, 0o600); err != nil {
		return err
	}
	conninfo := "host=" + primary.host + " port=" + strconv.Itoa(primary.port) +
		" user=postgres dbname=postgres application_name=pgtest_standby"
	settings := map[string]string{
		"primary_conninfo":     conninfo,
		"primary_slot_name":    slot,
		"hot_standby":          "on",
		"hot_standby_feedback": "on",
	}
	for k, v := range extra {
		settings[k] = v
	}
	return writeSettings(filepath.Join(st.dataDir, "postgresql.conf"), st.sockDir, settings)
}

// launchStandby starts the standby's postmaster on the first free port it
// can bind, as start does for a new cluster.
func (st *Server) launchStandby(ctx context.Context) error {
	st.ctl.Lock()
	defer st.ctl.Unlock()
	var err error
	for range startAttempts {
		if st.port, err = freePort(); err != nil {
			return err
		}
		var bindFailed bool
		if bindFailed, err = st.launch(ctx); err == nil || !bindFailed {
			return err
		}
	}
	return err
}

// waitStreaming polls until the standby's WAL receiver streams.
func (st *Server) waitStreaming(ctx context.Context) error {
	for {
		var streaming bool
		err := st.withAdmin(ctx, func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')`).Scan(&streaming)
		})
		if err != nil {
			return fmt.Errorf("pgtest: standby: %w", err)
		}
		if streaming {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: standby: not streaming: %w; standby log:\n%s", ctx.Err(), st.LogTail(20))
		case <-time.After(pollInterval):
		}
	}
}

// WaitReplayed returns once standby has replayed primary's WAL up to the
// position primary's WAL insert pointer had when WaitReplayed was called:
// everything committed on primary before the call is then visible on
// standby. ctx bounds the wait.
func WaitReplayed(ctx context.Context, primary, standby *Server) error {
	var target string
	err := primary.withAdmin(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&target)
	})
	if err != nil {
		return fmt.Errorf("pgtest: reading the primary's position: %w", err)
	}
	for {
		var done bool
		err := standby.withAdmin(ctx, func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT COALESCE(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)`, target).Scan(&done)
		})
		if err != nil {
			return fmt.Errorf("pgtest: reading the standby's position: %w", err)
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: the standby did not replay up to %s: %w", target, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// Promote ends recovery on a standby (pg_promote, waiting up to a minute)
// and returns once it accepts writes. ctx bounds the work.
func (s *Server) Promote(ctx context.Context) error {
	var ok bool
	err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT pg_promote(true, 60)`).Scan(&ok)
	})
	if err != nil {
		return fmt.Errorf("pgtest: promote: %w", err)
	}
	if !ok {
		return fmt.Errorf("pgtest: promote: the server did not leave recovery within 60 s; log:\n%s", s.LogTail(20))
	}
	return nil
}

// VersionNum returns the server's server_version_num, such as 170004.
// ctx bounds the work.
func (s *Server) VersionNum(ctx context.Context) (int, error) {
	var v int
	err := s.withAdmin(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("pgtest: reading server_version_num: %w", err)
	}
	return v, nil
}
