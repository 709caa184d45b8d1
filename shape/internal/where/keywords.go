package where

// unsupportedWords are keywords of constructs the package refuses.
var unsupportedWords = map[string]string{
	"select": "subquery", "exists": "EXISTS", "case": "CASE", "cast": "CAST", "collate": "COLLATE",
	"similar": "SIMILAR TO", "distinct": "IS DISTINCT FROM", "all": "ALL (...)", "array": "ARRAY constructor",
	"row": "row constructor", "interval": "interval literal", "at": "AT TIME ZONE", "overlaps": "OVERLAPS",
	"escape": "ESCAPE", "symmetric": "BETWEEN SYMMETRIC", "current_date": "CURRENT_DATE",
	"current_timestamp": "CURRENT_TIMESTAMP", "now": "function call now", "localtimestamp": "LOCALTIMESTAMP",
	"current_user": "CURRENT_USER", "session_user": "SESSION_USER", "user": "USER", "default": "DEFAULT",
	"document": "IS DOCUMENT", "normalized": "IS NORMALIZED", "json": "IS JSON", "of": "IS OF",
}

// reserved are the words that cannot name a column unquoted (PostgreSQL
// reserves them; others, such as json or at, are column names).
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "is": true, "null": true, "true": true, "false": true,
	"in": true, "like": true, "ilike": true, "between": true, "escape": true, "any": true, "some": true,
	"all": true, "case": true, "select": true, "exists": true, "cast": true, "collate": true,
	"similar": true, "distinct": true, "array": true, "symmetric": true, "unknown": true, "isnull": true,
	"notnull": true, "where": true, "from": true, "current_date": true, "current_timestamp": true,
	"localtimestamp": true, "current_user": true, "session_user": true, "user": true, "default": true,
}
