// Package where is the WHERE language of live queries (shapes): a parser
// for a subset of PostgreSQL's WHERE clauses, binding to a table's
// columns and parameters, evaluation on rows of the change stream with
// PostgreSQL's semantics, rendering back to SQL for the snapshot query,
// and a routing index that finds the shapes a change may touch.
//
// # Language
//
// [Parse] accepts comparisons = <> (!=) < <= > >=, IN (...), [NOT]
// BETWEEN, IS [NOT] NULL, IS [NOT] TRUE/FALSE/UNKNOWN, [NOT] LIKE and
// ILIKE with ESCAPE, AND, OR, NOT, parentheses, array_col @> value,
// value = ANY(array_col) and col = ANY(value), boolean columns as
// conditions, literals ('strings', numbers, TRUE, FALSE, NULL) and $n
// parameters. Keywords are case-insensitive; unquoted names fold to lower
// case, "quoted" names keep theirs. Everything else (function calls,
// casts, arithmetic, subqueries, comments, semicolons, E'...' and $$
// strings, COLLATE, ...) is refused with an *[Error] naming the construct
// and its byte position.
//
// # Types and semantics
//
// [Bind] checks the clause against the table's [Column]s. Each comparison
// has a column on one side and a literal or parameter on the other; the
// value takes the column's type and is parsed as PostgreSQL's input
// function would (numeric literals keep their own type, as in SQL: an
// integer column equals 1.0 but not 1.5; a float4 column meets 0.1 as
// double precision). Supported: smallint, integer, bigint, numeric
// (compared exactly, NaN above everything and equal to itself,
// ±Infinity), real and double precision (NaN likewise, -0 = 0), text,
// varchar, char(n) (trailing spaces insignificant, except in LIKE),
// boolean, uuid, date, timestamp, timestamptz (±infinity), enums (by
// their label order, see [Column.EnumLabels]) and one-dimensional or
// multi-dimensional arrays of those for @> and = ANY.
//
// Text ordering (< <= > >= BETWEEN) depends on the collation: it is
// accepted only for the C and POSIX collations, where it is byte order,
// and refused otherwise. ILIKE is accepted only for C and POSIX, where
// PostgreSQL folds ASCII letters only. Equality, IN and LIKE hold for any
// deterministic collation (they compare bytes); nondeterministic
// collations are refused.
//
// Date and time values are taken in ISO 8601 form only (with an explicit
// UTC offset for timestamptz), so that the server's DateStyle and
// TimeZone cannot change their meaning.
//
// # Safety
//
// [Pred.SQL] renders the clause again from the syntax tree: names through
// the caller's quoting function, strings and parameters as placeholders
// bound to the value as the package parsed it. The caller's text never
// reaches SQL.
//
// # Routing
//
// An [Index] holds many predicates of one table and finds, for a row,
// the ones that may hold, through hash tables (equality, IN, = ANY and @>
// conjuncts), trees of bounds (range conjuncts) and intervals (BETWEEN)
// and a list of the rest, an OR filed under each of its disjuncts:
// [Index.Match] yields candidates, [Index.MatchTrue] exactly the
// predicates that are True (and those that need the full row).
//
// # Rows with missing columns
//
// An old key tuple lacks the columns outside the replica identity, and an
// UPDATE may leave a TOASTed value out. [Pred.Eval] fails with
// [ErrNoValue] when its exact result depends on such a column;
// [Pred.Holds] answers whether the predicate is True whenever the missing
// columns cannot change that (a = 1 AND body LIKE 'x%' is not True for
// a = 2 whatever body holds).
//
// # Concurrency
//
// [Expr] and [Pred] are immutable once built and safe for concurrent use.
// An [Index] is not: the caller serialises every call on it.
//
// How the packages fit together, and the invariants each keeps:
// https://github.com/phoenixkit/phoenixkitdb/blob/main/docs/architecture.md
package where
