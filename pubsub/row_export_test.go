package pubsub

// Hooks for the external tests of the row value parsers.

// DecodeText decodes text as Row.Value does for a column of type oid.
func DecodeText(oid uint32, text string) (any, error) { return decodeValue(oid, text) }

// ArrayElement returns the element type of built-in array type oid, or 0.
func ArrayElement(oid uint32) uint32 { return arrayElement(oid) }

// ArrayDelimiter returns the element delimiter of arrays of elem.
func ArrayDelimiter(elem uint32) byte { return arrayDelimiter(elem) }
