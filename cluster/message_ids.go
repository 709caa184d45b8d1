package cluster

import "unsafe"

const (
	// idBlockSize is the size of a block of row ids: some 100 integer ids
	// or 50 uuids per allocation instead of one each. An event a
	// subscriber keeps alive keeps its block alive, so the block stays
	// small.
	idBlockSize = 2 << 10
	// maxBlockID is the longest row id copied into a block; a longer one
	// gets an allocation of its own, so that no block is mostly wasted.
	maxBlockID = 128
)

// idBlock copies row ids out of message bodies into shared blocks.
// Bytes written to a block are never written again, which keeps a string
// over them immutable: a block is only appended to, and replaced by a new
// one when full. Not safe for concurrent use (the decoder's owner owns
// it).
type idBlock struct{ b []byte }

// copy returns a string holding id's bytes ("" for none).
func (k *idBlock) copy(id []byte) string {
	if len(id) == 0 {
		return ""
	}
	if len(id) > maxBlockID {
		return string(id)
	}
	if cap(k.b)-len(k.b) < len(id) {
		k.b = make([]byte, 0, idBlockSize)
	}
	start := len(k.b)
	k.b = append(k.b, id...)
	return unsafe.String(&k.b[start], len(id))
}
