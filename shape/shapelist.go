package shape

// A table keeps its shapes in unordered lists (all of them, those without
// a WHERE clause, those waiting for a snapshot), and each shape notes its
// place in each list it is in, so that taking one out costs O(1)
// whatever the number of shapes.

// place returns sh's noted place in a list: one of its fields.
type place func(sh *shape) *int32

func inShapes(sh *shape) *int32  { return &sh.spos }
func inNopred(sh *shape) *int32  { return &sh.npos }
func inWaiting(sh *shape) *int32 { return &sh.wpos }

// putIn appends sh to *list and notes its place.
func putIn(list *[]*shape, sh *shape, at place) {
	*at(sh) = int32(len(*list))
	*list = append(*list, sh)
}

// takeOut removes sh from *list: the last shape takes its place.
func takeOut(list *[]*shape, sh *shape, at place) {
	l := *list
	i, last := *at(sh), l[len(l)-1]
	l[i], *at(last) = last, i
	l[len(l)-1] = nil
	*list = l[:len(l)-1]
}
