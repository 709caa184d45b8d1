package replication

// SetChangeHook makes s call f before it decodes each change; set it
// before Serve runs.
func SetChangeHook(s *Source, f func()) { s.changeHook = f }

// TypeLookups returns how many side connections s opened to resolve
// column types.
func TypeLookups(s *Source) uint64 { return s.typeLookups.Load() }
