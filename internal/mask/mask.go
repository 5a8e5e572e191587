// Package mask hides most of a personal value for display on pages and in
// operator output: phone numbers (138****1234), Chinese resident ID
// numbers (440***********1234), email addresses and names. Masking is for
// eyes, not for storage: stored values are sealed by the store.
//
// Every function accepts any string (short, empty, not UTF-8, not a phone
// number at all) without panicking, and never shows more of it than the
// standard mask shows of a well-formed value: at most the first 3 and the
// last 4 characters, and always at least 4 characters hidden.
package mask

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Phone masks a phone number: 13800138000 → 138****8000. Spaces, dashes
// and parentheses are dropped first, and a +86 (or 0086) prefix is kept
// as "+86 ": +86 138 0013 8000 → +86 138****8000.
func Phone(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '\t', '\u00a0':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	prefix := ""
	for _, cc := range []string{"+86", "0086"} {
		if rest, ok := strings.CutPrefix(s, cc); ok && utf8.RuneCountInString(rest) == 11 {
			prefix, s = "+86 ", rest
			break
		}
	}
	return prefix + middle(s, 3, 4, 4)
}

// IDNumber masks a resident ID number: 440106199001011234 →
// 440***********1234 (the region's first three digits and the last four,
// which hold the check character, stay).
func IDNumber(s string) string {
	return middle(strings.Join(strings.Fields(s), ""), 3, 4, 4)
}

// Email masks the local part of an address, keeping its first character
// and the domain: zhangsan@demo.edu.cn → z***@demo.edu.cn. A one-character
// local part is hidden whole; a value without @ is hidden whole.
func Email(s string) string {
	s = strings.TrimSpace(s)
	local, domain, ok := strings.Cut(s, "@")
	if !ok || domain == "" {
		return stars(3)
	}
	if utf8.RuneCountInString(local) < 2 {
		return stars(3) + "@" + domain
	}
	r, _ := utf8.DecodeRuneInString(local)
	return string(r) + stars(3) + "@" + domain
}

// Name masks a personal name, keeping its first character (the family
// name of a Chinese name): 张三 → 张*, 欧阳娜娜 → 欧***, Li Lei → L*****.
// A one-character name is hidden whole.
func Name(s string) string {
	rs := []rune(strings.TrimSpace(s))
	if len(rs) < 2 {
		return stars(1)
	}
	n := 0
	for _, r := range rs[1:] {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return string(rs[0]) + stars(max(n, 1))
}

// middle keeps up to head leading and tail trailing characters of s and
// masks the rest, at least minMasked characters: a short value shows less
// (the tail first, as the last digits are what people check). Values of
// at most minMasked characters become stars, at least minMasked of them,
// hiding the length.
func middle(s string, head, tail, minMasked int) string {
	rs := []rune(s)
	n := len(rs)
	masked := max(minMasked, n-head-tail)
	if masked >= n {
		return stars(max(minMasked, n))
	}
	shown := n - masked
	t := min(tail, (shown+1)/2)
	h := min(head, shown-t)
	t = shown - h
	return string(rs[:h]) + stars(masked) + string(rs[n-t:])
}

func stars(n int) string { return strings.Repeat("*", n) }
