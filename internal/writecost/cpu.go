package writecost

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// userHZ is Linux's clock-tick rate for /proc/<pid>/stat (USER_HZ, 100 on
// every mainstream architecture).
const userHZ = 100

// backendCPU returns the CPU time (user + system) the server process behind
// conn has used so far, read from /proc. It works only when the server runs
// on this machine; ok is false otherwise. CPU time is far less disturbed by
// other load on the machine than wall time.
func backendCPU(ctx context.Context, conn *pgx.Conn) (d time.Duration, ok bool) {
	pid := conn.PgConn().PID()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may contain spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// After the name: state is field 3, utime field 14, stime field 15.
	if len(f) < 13 {
		return 0, false
	}
	var utime, stime int64
	if _, err := fmt.Sscan(f[11], &utime); err != nil {
		return 0, false
	}
	if _, err := fmt.Sscan(f[12], &stime); err != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / userHZ, true
}
