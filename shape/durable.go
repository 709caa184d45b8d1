package shape

// A snapshot must hold only what survives a crash: with synchronous_commit
// off a commit is visible before its WAL is flushed, a crash erases it
// (and gives its xid again), and the WAL stream never mentions it. So a
// snapshot's rows, and rows fetched by key, are handed out only once the
// server has flushed its WAL up to the insert position read after them
// (internal/walflush), which lies past the commit record of every
// transaction they show.
