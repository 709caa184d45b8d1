package listener

// StartCheckPending reports whether a check scheduled by EnsureStarted is
// pending or still writing its warning: once it is false, no warning
// from earlier calls can come any more.
func StartCheckPending(l *Listener) bool {
	return l.started.Pending()
}
