package where

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// likeTok is one element of a compiled LIKE pattern.
type likeTok struct {
	kind byte   // 'l' literal, '_' one character, '%' any run
	lit  string // kind 'l'
}

// compileLike compiles a LIKE pattern with escape character esc ("" for
// none) as PostgreSQL reads it; fold lower-cases ASCII letters (ILIKE
// under the C collation).
func compileLike(pat, esc string, fold bool) ([]likeTok, error) {
	var escR rune = -1
	if esc != "" {
		r, n := utf8.DecodeRuneInString(esc)
		if n != len(esc) {
			return nil, fmt.Errorf("invalid escape string %q: it must be empty or one character", esc)
		}
		escR = r
	}
	var toks []likeTok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			s := lit.String()
			if fold {
				s = asciiLower(s)
			}
			toks = append(toks, likeTok{kind: 'l', lit: s})
			lit.Reset()
		}
	}
	for i := 0; i < len(pat); {
		r, n := utf8.DecodeRuneInString(pat[i:])
		switch {
		case r == escR:
			if i+n >= len(pat) {
				return nil, fmt.Errorf("LIKE pattern must not end with escape character")
			}
			_, m := utf8.DecodeRuneInString(pat[i+n:])
			lit.WriteString(pat[i+n : i+n+m])
			i += n + m
			continue
		case r == '%':
			flush()
			if len(toks) == 0 || toks[len(toks)-1].kind != '%' {
				toks = append(toks, likeTok{kind: '%'})
			}
		case r == '_':
			flush()
			toks = append(toks, likeTok{kind: '_'})
		default:
			lit.WriteString(pat[i : i+n])
		}
		i += n
	}
	flush()
	return toks, nil
}

// asciiLower lower-cases ASCII letters only, as lower() does under the
// C collation.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// likeMatch reports whether s matches the compiled pattern. After a '%'
// it retries from one character further on failure; a later '%' makes
// earlier choices final, so the cost is at most len(s) × len(toks).
func likeMatch(toks []likeTok, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for {
		if ti < len(toks) {
			t := &toks[ti]
			switch t.kind {
			case '%':
				starT, starS = ti, si
				ti++
				continue
			case '_':
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					si += n
					ti++
					continue
				}
			default:
				if strings.HasPrefix(s[si:], t.lit) {
					si += len(t.lit)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starT < 0 || starS >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		si, ti = starS, starT+1
	}
}
