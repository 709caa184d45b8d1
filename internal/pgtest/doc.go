// Package pgtest runs throwaway PostgreSQL servers for tests.
//
// # Servers
//
// [Start] makes a fresh cluster in a temporary directory and runs the
// postgres binary as a child process that the [Server] owns: trust
// authentication, durability turned off (fsync, synchronous_commit,
// full_page_writes), listening on 127.0.0.1 with a free port and on a unix
// socket inside the temporary directory. [Server.Stop], [Server.Resume] and
// [Server.Restart] drive the postmaster with signals, which is what fault
// tests need; [Server.Close] stops it and removes every file.
//
// initdb costs about a second of CPU, so it runs once per machine for each
// set of binaries: the cluster it makes is kept as a template in the OS
// temporary directory (pgtest-template-HASH-DAY, about 40 MB, keyed by
// the binaries, initdb's options, the users and TZ, made afresh each day
// and removed two days later; built under a file lock and renamed into
// place, so parallel test processes build it once). Each
// Start copies it and writes a new random system identifier into the
// copy's pg_control (recomputing its CRC) and WAL segment headers, so
// servers are told apart as separate initdb runs are. When the control
// file's layout is not recognised, or the template directory is not one
// pgtest made for this user, Start runs initdb itself. Delete the
// directory to rebuild it.
//
// [External] wraps a server someone else runs, given by URL. It supports
// everything except process control, which returns [ErrExternal].
//
// # Running as root
//
// initdb and postgres refuse to run as root. When the test binary runs as
// root (CI containers do), pgtest runs them as the "postgres" system user
// (or "nobody" when there is no such user) through
// syscall.SysProcAttr.Credential, without a shell or su. The temporary
// directory is made traversable for that user, so TMPDIR must point into a
// directory every user can traverse (the default /tmp is fine).
//
// # Finding the binaries
//
// Options.BinDir; else $PHOENIXKITDB_PG_BINDIR (then the only place
// looked at); else `pg_config --bindir` if it holds initdb and postgres;
// else initdb on PATH; else the newest of /usr/lib/postgresql/*/bin
// (Debian, Ubuntu), /usr/pgsql-*/bin (Fedora, RHEL), the Homebrew prefixes
// /opt/homebrew/opt/postgresql@*/bin and /usr/local/opt/postgresql@*/bin,
// and /usr/local/pgsql/bin (a source build). When none is found, Start
// returns an error wrapping [ErrNoPostgres] that lists where it looked and
// the package to install.
//
// # Test helpers
//
// [RunMain] is meant for TestMain: it uses PHOENIXKITDB_TEST_DATABASE_URL when
// set, otherwise it starts a server, runs the tests, closes the server and
// checks for leaked goroutines with goleak. [Require] skips (locally) or fails
// (with CI=true) a test when no server is available, and [NewDB] gives a test a
// fresh database that is dropped when the test ends.
//
// # PgBouncer
//
// [StartPgBouncer] runs Debian's pgbouncer (as the "postgres" user when
// root) in front of a Server in session or transaction pool mode;
// [RequirePgBouncer] skips a test when pgbouncer is not installed, or
// fails it with CI=true.
//
// # TLS and authentication
//
// [NewCA] and [CA.Issue] make certificates in the test; [Server.SetTLS]
// turns TLS on (or rotates the certificate) and [Server.PrependHBA] adds
// pg_hba.conf lines, such as scram-sha-256 for a role with a password.
//
// # Fault injection
//
// [Proxy] forwards TCP connections to a server and can freeze every byte in
// flight, thaw, or cut every connection, to simulate dead network paths;
// [Proxy.SetTarget] moves it to another server, as a failover would.
//
// # Standbys
//
// [Server.StartStandby] makes a physical standby of a server made by Start
// (a copy of its cleanly stopped data directory with standby.signal,
// streaming on loopback through a physical slot), without pg_basebackup,
// which some server packages lack. [WaitReplayed] waits until the standby
// has replayed what the primary committed, [Server.Promote] ends its
// recovery, and [Server.VersionNum] tells which features the server has.
//
// # Orphans
//
// The postmaster is started with Pdeathsig=SIGQUIT from an OS thread locked
// for the whole life of the process, so a test binary that is killed (even
// with SIGKILL) takes its server down with it.
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package pgtest
