// Package strblock copies short byte strings into shared blocks, so that
// a decoder turning many small fields (row ids) into strings makes one
// allocation per block instead of one per string.
package strblock

import "unsafe"

const (
	// Size is the size of a block: about 55 uuids or 300 integer ids per
	// allocation. A string a consumer keeps alive keeps its block alive,
	// so the block stays small.
	Size = 2 << 10
	// MaxShared is the longest string copied into a block; a longer one
	// gets an allocation of its own, so that a block is never mostly
	// wasted.
	MaxShared = 128
)

// Block copies byte strings into shared blocks. Bytes written to a block
// are never written again, which is what makes a string over them
// immutable: a block is only appended to, and replaced by a new one when
// full. The zero value is ready to use. Not safe for concurrent use: the
// decoder's owner owns it.
type Block struct{ b []byte }

// Copy returns a string holding b's bytes ("" for none).
func (k *Block) Copy(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > MaxShared {
		return string(b)
	}
	if cap(k.b)-len(k.b) < len(b) {
		k.b = make([]byte, 0, Size)
	}
	start := len(k.b)
	k.b = append(k.b, b...)
	return unsafe.String(&k.b[start], len(b))
}
