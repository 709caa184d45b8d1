package shape

// Streamed reports whether r was handed over while its query ran.
func Streamed(r *Rows) bool { return r.fill != nil }
