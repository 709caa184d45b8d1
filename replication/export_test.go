package replication

// SetChangeHook makes s call f before it decodes each change; set it
// before Serve runs.
func SetChangeHook(s *Source, f func()) { s.changeHook = f }
