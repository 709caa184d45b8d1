package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// templateFormat changes whenever the template's layout or the way it is
// made changes, so that an older one is never reused.
const templateFormat = "pgtest-template-1"

// templateDay is how long one template is used. A new one is made each
// day, and those two or more days old are removed as it is made: tools
// that clean the temporary directory (systemd-tmpfiles, after ten days by
// default) delete old files one at a time, which would leave a template
// in use with holes.
const templateDay = 24 * time.Hour

// lockPollInterval is the pause between attempts to take the template lock
// while another process builds the template.
const lockPollInterval = 20 * time.Millisecond

// initdbArgs are the options every cluster is made with. They key the
// template: a change here makes a new one.
func initdbArgs(dataDir string) []string {
	return []string{"-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"}
}

// initCluster fills s.dataDir with a new cluster: a copy of the template
// cluster of s's binaries (made by initdb once per machine, see
// templateDir) given a system identifier of its own, or, when the template
// cannot be used or its identifier cannot be rewritten, a fresh initdb.
func (s *Server) initCluster(ctx context.Context) error {
	tmpl, err := s.templateDir(ctx)
	if err != nil {
		return err
	}
	if tmpl == "" {
		return s.initdb(ctx)
	}
	err = s.copyTemplate(ctx, tmpl)
	if err == nil {
		return nil
	}
	if !errors.Is(err, errControlLayout) {
		return err
	}
	s.logger.Debug("pgtest: the template's system identifier cannot be rewritten; running initdb", "err", err)
	if err := s.resetDataDir(); err != nil {
		return err
	}
	return s.initdb(ctx)
}

// copyTemplate copies the template data directory tmpl into s.dataDir as
// the server user (so the files are its own) and gives the copy a new
// system identifier, so that servers made from one template are told
// apart the way separate initdb runs are (replication checks it).
func (s *Server) copyTemplate(ctx context.Context, tmpl string) error {
	cmd := exec.CommandContext(ctx, "cp", "-a", tmpl+"/.", s.dataDir)
	cmd.SysProcAttr = s.sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: copying the template cluster %s: %w: %s", tmpl, err, out)
	}
	id, err := newSystemIdentifier()
	if err != nil {
		return err
	}
	if err := setSystemIdentifier(s.dataDir, id); err != nil {
		return err
	}
	s.logger.Debug("pgtest: cluster copied from the template", "template", tmpl, "dir", s.dataDir, "system_identifier", id)
	return nil
}

// resetDataDir empties s.dataDir.
func (s *Server) resetDataDir() error {
	if err := os.RemoveAll(s.dataDir); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := os.Mkdir(s.dataDir, 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return s.as.chown(s.dataDir)
}

// templateDir returns the data directory of the template cluster for s's
// binaries and server user, running initdb to make it when it does not
// exist yet. The template lives in the OS temporary directory under a
// name that hashes everything initdb's output depends on (see
// templateKey) and the day (see templateDay); it is built in a side directory and renamed into place
// under an exclusive file lock, so concurrent test processes build it once
// and never see half of it. It is never modified afterwards. templateDir
// returns "" (make a fresh cluster) when a directory of that name exists
// but is not one pgtest made for this user. ctx bounds the wait for the
// lock and initdb.
func (s *Server) templateDir(ctx context.Context) (string, error) {
	key, err := templateKey(s.binDir, s.as)
	if err != nil {
		s.logger.Debug("pgtest: no template key; running initdb", "err", err)
		return "", nil
	}
	day := time.Now().Unix() / int64(templateDay/time.Second)
	root := templateRoot(key, day)
	if exists, ok := s.templateUsable(root); exists {
		return s.usableData(root, ok), nil
	}
	unlock, err := lockFile(ctx, root+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if exists, ok := s.templateUsable(root); exists {
		return s.usableData(root, ok), nil
	}
	if err := s.buildTemplate(ctx, root); err != nil {
		return "", err
	}
	s.removeOldTemplates(key, day)
	return filepath.Join(root, "data"), nil
}

// templateRoot names the template directory of key made on day (days
// since 1970).
func templateRoot(key string, day int64) string {
	return filepath.Join(os.TempDir(), "pgtest-template-"+key+"-"+strconv.FormatInt(day, 10))
}

// removeOldTemplates removes the templates of key made two or more days
// before day, with their locks (yesterday's may still be copied by a test
// process started then), leaving alone any directory pgtest did not make.
func (s *Server) removeOldTemplates(key string, day int64) {
	prefix := strings.TrimSuffix(templateRoot(key, 0), "0")
	paths, err := filepath.Glob(prefix + "*")
	if err != nil {
		return
	}
	for _, p := range paths {
		d, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(p, prefix), ".lock"), 10, 64)
		if err != nil || d >= day-1 {
			continue
		}
		if strings.HasSuffix(p, ".lock") {
			_ = os.Remove(p)
		} else if _, ok := s.templateUsable(p); ok {
			_ = os.RemoveAll(p)
		}
	}
}

// usableData returns root's data directory when ok, else "" after a log line.
func (s *Server) usableData(root string, ok bool) string {
	if !ok {
		s.logger.Warn("pgtest: ignoring a template directory pgtest did not make for this user; running initdb", "dir", root)
		return ""
	}
	return filepath.Join(root, "data")
}

// buildTemplate runs initdb in root+".building" (removing what a killed
// run left there) and renames it to root. The caller holds the lock.
func (s *Server) buildTemplate(ctx context.Context, root string) error {
	build := root + ".building"
	if err := os.RemoveAll(build); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	data := filepath.Join(build, "data")
	if err := os.Mkdir(build, 0o755); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := os.Chmod(build, 0o755); err != nil { // Mkdir's mode is filtered by the umask
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := s.as.checkTraversable(build); err != nil {
		return err
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := s.as.chown(data); err != nil {
		return err
	}
	logPath := filepath.Join(build, "initdb.log")
	if err := s.runInitdb(ctx, data, logPath); err != nil {
		tail := (&Server{logPath: logPath}).LogTail(20)
		_ = os.RemoveAll(build)
		return fmt.Errorf("%w\n%s", err, tail)
	}
	if err := os.Rename(build, root); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	s.logger.Debug("pgtest: template cluster made", "dir", root)
	return nil
}

// templateUsable reports whether root exists and, if so, whether it is a
// template pgtest made for this process's user and s's server user: a
// directory (not a link) owned by us and writable by nobody else, whose
// data directory belongs to the server user with mode 0700. Anyone can
// create names in the temporary directory, and a cluster planted there
// would run with the server user's rights.
func (s *Server) templateUsable(root string) (exists, ok bool) {
	fi, err := os.Lstat(root)
	if err != nil {
		return false, false
	}
	if !ownedDir(fi, os.Geteuid()) || fi.Mode().Perm()&0o022 != 0 {
		return true, false
	}
	uid := os.Geteuid()
	if s.as != nil {
		uid = s.as.uid
	}
	di, err := os.Lstat(filepath.Join(root, "data"))
	return true, err == nil && ownedDir(di, uid) && di.Mode().Perm() == 0o700
}

// ownedDir reports whether fi is a directory (not a link) owned by uid.
func ownedDir(fi os.FileInfo, uid int) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode().IsDir() && int(st.Uid) == uid
}

// templateKey hashes what a cluster made by initdb depends on: the binary
// directory and the identity (size, modification time, inode) of its initdb
// and postgres, initdb's options, the server user, the time zone initdb
// records (from TZ) and the template format.
func templateKey(binDir string, as *runAs) (string, error) {
	abs, err := filepath.Abs(binDir)
	if err != nil {
		return "", err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return "", err
	}
	parts := []string{templateFormat, abs}
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(abs, name))
		if err != nil {
			return "", err
		}
		var ino uint64
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			ino = st.Ino
		}
		parts = append(parts, name, strconv.FormatInt(fi.Size(), 10), strconv.FormatInt(fi.ModTime().UnixNano(), 10), strconv.FormatUint(ino, 10))
	}
	parts = append(parts, initdbArgs("")...)
	uid, gid := os.Geteuid(), os.Getegid()
	if as != nil {
		uid, gid = as.uid, as.gid
	}
	parts = append(parts, strconv.Itoa(os.Geteuid()), strconv.Itoa(uid), strconv.Itoa(gid), "TZ="+os.Getenv("TZ"))
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:8]), nil
}

// lockFile takes an exclusive flock on path (created 0600 if missing, never
// through a symbolic link), polling until it is free or ctx ends, and
// returns the function that releases it.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgtest: template lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("pgtest: template lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("pgtest: waiting for the template lock %s (another process is running initdb): %w", path, ctx.Err())
		case <-time.After(lockPollInterval):
		}
	}
}
