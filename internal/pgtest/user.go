package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// ErrNoUnprivilegedUser is wrapped by Start when it runs as root and finds no
// system user (postgres, then nobody) to run initdb and postgres as.
var ErrNoUnprivilegedUser = errors.New("pgtest: running as root and no unprivileged user (postgres or nobody) exists to run the server as")

// runAs is the identity initdb and postgres run as. A nil *runAs means "as
// ourselves" (we are not root).
type runAs struct {
	name     string
	uid, gid int
}

// credential returns the SysProcAttr credential for r, or nil for ourselves.
func (r *runAs) credential() *syscall.Credential {
	if r == nil {
		return nil
	}
	// Groups is empty on purpose: it drops root's supplementary groups.
	return &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid), Groups: []uint32{}}
}

// chown gives path to r; a no-op for ourselves.
func (r *runAs) chown(path string) error {
	if r == nil {
		return nil
	}
	if err := os.Chown(path, r.uid, r.gid); err != nil {
		return fmt.Errorf("pgtest: chown %s to %s: %w", path, r.name, err)
	}
	return nil
}

// serverUser decides who runs the server: ourselves unless we are root, in
// which case the postgres system user, else nobody.
func serverUser() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &runAs{name: name, uid: uid, gid: gid}, nil
	}
	return nil, ErrNoUnprivilegedUser
}

// checkTraversable returns a clear error when r cannot reach dir because one
// of its ancestors lacks search permission for it (say TMPDIR=/root/tmp),
// instead of a confusing initdb failure later.
func (r *runAs) checkTraversable(dir string) error {
	if r == nil {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		ok := fi.Mode()&0o001 != 0
		if st, isUnix := fi.Sys().(*syscall.Stat_t); isUnix {
			ok = ok || (int(st.Uid) == r.uid && fi.Mode()&0o100 != 0) || (int(st.Gid) == r.gid && fi.Mode()&0o010 != 0)
		}
		if !ok {
			return fmt.Errorf("pgtest: user %s cannot traverse %s (set TMPDIR to a directory every user can reach, such as /tmp)", r.name, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}
