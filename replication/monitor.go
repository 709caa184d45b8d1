package replication

import "github.com/jackc/pgx/v5/pgconn"

// MonitorConfig returns a new configuration for an ordinary (not
// replication) session on the Source's database, built from its
// connection string parsed afresh, with application_name
// DefaultApplicationName+"-monitor" unless the string sets one. Monitoring code (the
// metrics module reads pg_replication_slots with it at scrape time) needs
// it because the connection string is not otherwise exported; the result
// holds the password, so never print it. It fails, with an error wrapping
// ErrInvalidConfig that does not quote the string, when the string no
// longer parses (a service file changed). Safe for concurrent use.
func (s *Source) MonitorConfig() (*pgconn.Config, error) {
	pc, err := parseConnString(s.cfg.ConnString, s.cfg)
	if err != nil {
		return nil, err
	}
	delete(pc.RuntimeParams, "replication")
	if pc.RuntimeParams["application_name"] == DefaultApplicationName {
		pc.RuntimeParams["application_name"] = DefaultApplicationName + "-monitor"
	}
	return pc, nil
}
