package wecom

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// This file holds a small XML reader and writer for the subset WeCom uses in
// callback and passive-reply messages: nested elements, CDATA sections, text
// with the five predefined entities and numeric character references,
// comments and processing instructions. Attributes are skipped, DTDs are
// refused. encoding/xml is avoided because it is the dominant cost of a
// callback (reflection plus one allocation per token); this reader builds a
// flat tree of offsets into the input and allocates only for text that needs
// decoding.

// XMLError reports malformed XML in a callback or reply message. It matches
// ErrXML under errors.Is, so callers can treat it like the envelope error of
// the crypto layer.
type XMLError struct {
	Offset int    // byte offset in the input where the problem was found
	Reason string // what is wrong, in lowercase
}

// Error gives the offset first, so a logged error points into Event.Raw.
func (e *XMLError) Error() string {
	return fmt.Sprintf("xml: offset %d: %s", e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrXML) true, so that one sentinel covers every
// malformed-XML failure of the package.
func (e *XMLError) Is(target error) bool { return target == ErrXML }

// Limits on what a callback may look like; WeCom's payloads are a few KB
// deep by a handful of levels, so these only bound hostile input.
const (
	maxXMLSize  = 4 << 20
	maxXMLDepth = 64
	maxXMLNodes = 1 << 16
)

const noNode = -1

// xmlNode is one element. Offsets index xdoc.s; start/end delimit the raw
// content between the start tag's '>' and the end tag's '<'.
type xmlNode struct {
	nameStart, nameEnd int32
	start, end         int32
	parent             int32
	first, last, next  int32
	ncdata             uint8 // CDATA sections directly inside, saturating at 2
	flags              uint8
}

const (
	flagEntity uint8 = 1 << iota // direct text holds an entity or character reference
	flagMarkup                   // direct content holds a comment or processing instruction
)

// xdoc is a parsed document. It is pooled: nodes is reused between parses.
type xdoc struct {
	s     string
	nodes []xmlNode
	root  int32
}

var xdocPool = sync.Pool{New: func() any { return &xdoc{nodes: make([]xmlNode, 0, 64)} }}

func getDoc() *xdoc { return xdocPool.Get().(*xdoc) }

func putDoc(d *xdoc) {
	if cap(d.nodes) > 4096 {
		return // do not keep a huge slice alive because of one odd message
	}
	d.s = ""
	d.nodes = d.nodes[:0]
	xdocPool.Put(d)
}

func xmlErr(off int, format string, args ...any) error {
	return &XMLError{Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= 0x80
}

func isNameByte(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// parse fills d from s. s must stay unchanged while d is in use: names and
// text are returned as substrings of it.
func (d *xdoc) parse(s string) error {
	d.s = s
	d.nodes = d.nodes[:0]
	d.root = noNode
	if len(s) > maxXMLSize {
		return xmlErr(0, "document of %d bytes exceeds %d", len(s), maxXMLSize)
	}
	if !utf8.ValidString(s) {
		return xmlErr(0, "invalid UTF-8")
	}
	i := 0
	if strings.HasPrefix(s, "\uFEFF") {
		i = 3
	}
	cur := int32(noNode)
	depth := 0
	for i < len(s) {
		if s[i] != '<' {
			end := strings.IndexByte(s[i:], '<')
			if end < 0 {
				end = len(s)
			} else {
				end += i
			}
			if cur == noNode {
				for j := i; j < end; j++ {
					if !isSpace(s[j]) {
						return xmlErr(j, "text outside the root element")
					}
				}
			} else if amp := strings.IndexByte(s[i:end], '&'); amp >= 0 {
				if err := checkEntities(s, i+amp, end); err != nil {
					return err
				}
				d.nodes[cur].flags |= flagEntity
			}
			i = end
			continue
		}
		if i+1 >= len(s) {
			return xmlErr(i, "unexpected end of input after '<'")
		}
		switch s[i+1] {
		case '/':
			if cur == noNode {
				return xmlErr(i, "end tag without a start tag")
			}
			j := i + 2
			k := j
			for k < len(s) && isNameByte(s[k]) {
				k++
			}
			n := &d.nodes[cur]
			if s[j:k] != s[n.nameStart:n.nameEnd] {
				return xmlErr(i, "end tag </%s> does not match <%s>", truncate(s[j:k], 64), truncate(s[n.nameStart:n.nameEnd], 64))
			}
			for k < len(s) && isSpace(s[k]) {
				k++
			}
			if k >= len(s) || s[k] != '>' {
				return xmlErr(k, "malformed end tag")
			}
			n.end = int32(i)
			cur = n.parent
			depth--
			i = k + 1
		case '?':
			end := strings.Index(s[i+2:], "?>")
			if end < 0 {
				return xmlErr(i, "unterminated processing instruction")
			}
			if cur != noNode {
				d.nodes[cur].flags |= flagMarkup
			}
			i += 2 + end + 2
		case '!':
			switch {
			case strings.HasPrefix(s[i:], "<!--"):
				end := strings.Index(s[i+4:], "-->")
				if end < 0 {
					return xmlErr(i, "unterminated comment")
				}
				if cur != noNode {
					d.nodes[cur].flags |= flagMarkup
				}
				i += 4 + end + 3
			case strings.HasPrefix(s[i:], "<![CDATA["):
				if cur == noNode {
					return xmlErr(i, "CDATA outside the root element")
				}
				end := strings.Index(s[i+9:], "]]>")
				if end < 0 {
					return xmlErr(i, "unterminated CDATA section")
				}
				if n := &d.nodes[cur]; n.ncdata < 2 {
					n.ncdata++
				}
				i += 9 + end + 3
			default:
				return xmlErr(i, "unsupported markup declaration (DTDs are refused)")
			}
		default:
			if cur == noNode && d.root != noNode {
				return xmlErr(i, "content after the root element")
			}
			j := i + 1
			if !isNameStart(s[j]) {
				return xmlErr(j, "invalid element name")
			}
			k := j + 1
			for k < len(s) && isNameByte(s[k]) {
				k++
			}
			nameEnd := k
			selfClose := false
			for {
				sp := k
				for k < len(s) && isSpace(s[k]) {
					k++
				}
				if k >= len(s) {
					return xmlErr(i, "unterminated start tag")
				}
				if s[k] == '>' {
					k++
					break
				}
				if s[k] == '/' {
					if k+1 >= len(s) || s[k+1] != '>' {
						return xmlErr(k, "malformed empty-element tag")
					}
					selfClose = true
					k += 2
					break
				}
				if sp == k || !isNameStart(s[k]) {
					return xmlErr(k, "malformed attribute")
				}
				for k < len(s) && isNameByte(s[k]) {
					k++
				}
				for k < len(s) && isSpace(s[k]) {
					k++
				}
				if k >= len(s) || s[k] != '=' {
					return xmlErr(k, "attribute without a value")
				}
				k++
				for k < len(s) && isSpace(s[k]) {
					k++
				}
				if k >= len(s) || s[k] != '"' && s[k] != '\'' {
					return xmlErr(k, "unquoted attribute value")
				}
				q := s[k]
				end := strings.IndexByte(s[k+1:], q)
				if end < 0 {
					return xmlErr(k, "unterminated attribute value")
				}
				if strings.IndexByte(s[k+1:k+1+end], '<') >= 0 {
					return xmlErr(k, "'<' in attribute value")
				}
				k += 1 + end + 1
			}
			if len(d.nodes) >= maxXMLNodes {
				return xmlErr(i, "more than %d elements", maxXMLNodes)
			}
			idx := int32(len(d.nodes))
			d.nodes = append(d.nodes, xmlNode{
				nameStart: int32(j), nameEnd: int32(nameEnd),
				start: int32(k), end: int32(k),
				parent: cur, first: noNode, last: noNode, next: noNode,
			})
			if cur == noNode {
				d.root = idx
			} else {
				p := &d.nodes[cur]
				if p.last == noNode {
					p.first = idx
				} else {
					d.nodes[p.last].next = idx
				}
				p.last = idx
			}
			if !selfClose {
				depth++
				if depth > maxXMLDepth {
					return xmlErr(i, "elements nested deeper than %d", maxXMLDepth)
				}
				cur = idx
			}
			i = k
		}
	}
	if cur != noNode {
		return xmlErr(len(s), "unexpected end of input inside <%s>", truncate(d.name(cur), 64))
	}
	if d.root == noNode {
		return xmlErr(0, "no root element")
	}
	return nil
}

// checkEntities validates every '&' reference in s[from:to], from pointing at
// the first '&'.
func checkEntities(s string, from, to int) error {
	for i := from; i < to; {
		amp := strings.IndexByte(s[i:to], '&')
		if amp < 0 {
			return nil
		}
		i += amp
		_, n := decodeEntity(s[i:to])
		if n == 0 {
			return xmlErr(i, "invalid entity or character reference")
		}
		i += n
	}
	return nil
}

// decodeEntity decodes the reference at the start of s ("&amp;", "&#38;",
// "&#x26;"), returning the character and the bytes consumed, or n == 0 when
// s does not start with a valid reference.
func decodeEntity(s string) (r rune, n int) {
	semi := strings.IndexByte(s, ';')
	if semi < 2 || semi > 12 {
		return 0, 0
	}
	switch ref := s[1:semi]; ref {
	case "lt":
		return '<', semi + 1
	case "gt":
		return '>', semi + 1
	case "amp":
		return '&', semi + 1
	case "quot":
		return '"', semi + 1
	case "apos":
		return '\'', semi + 1
	default:
		if ref[0] != '#' || len(ref) < 2 {
			return 0, 0
		}
		base, digits := 10, ref[1:]
		if digits[0] == 'x' {
			base, digits = 16, digits[1:]
		}
		if digits == "" || digits[0] == '+' || digits[0] == '-' {
			return 0, 0
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil || !isXMLChar(rune(v)) {
			return 0, 0
		}
		return rune(v), semi + 1
	}
}

// isXMLChar is the XML 1.0 Char production: references to control
// characters, surrogates and non-characters are malformed.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func (d *xdoc) name(i int32) string {
	n := &d.nodes[i]
	return d.s[n.nameStart:n.nameEnd]
}

// text is the decoded character data of a leaf element; elements with
// children have no text of their own as far as WeCom's formats go.
// The common shapes (plain text, a single CDATA section) are substrings of
// the input and cost no allocation.
func (d *xdoc) text(i int32) string {
	n := &d.nodes[i]
	if n.first != noNode {
		return ""
	}
	raw := d.s[n.start:n.end]
	if n.flags == 0 {
		switch n.ncdata {
		case 0:
			return raw
		case 1:
			if strings.HasPrefix(raw, "<![CDATA[") && strings.HasSuffix(raw, "]]>") {
				return raw[len("<![CDATA[") : len(raw)-len("]]>")]
			}
		}
	}
	return decodeText(raw)
}

// decodeText unwraps CDATA sections, drops comments and processing
// instructions and resolves references. The input was validated by parse;
// anything unexpected is copied through rather than trusted.
func decodeText(raw string) string {
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		j := strings.IndexAny(raw[i:], "<&")
		if j < 0 {
			b = append(b, raw[i:]...)
			break
		}
		b = append(b, raw[i:i+j]...)
		i += j
		rest := raw[i:]
		switch {
		case rest[0] == '&':
			r, n := decodeEntity(rest)
			if n == 0 {
				b = append(b, '&')
				i++
				continue
			}
			b = utf8.AppendRune(b, r)
			i += n
		case strings.HasPrefix(rest, "<![CDATA["):
			end := strings.Index(rest[9:], "]]>")
			if end < 0 {
				b = append(b, rest...)
				i = len(raw)
				continue
			}
			b = append(b, rest[9:9+end]...)
			i += 9 + end + 3
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				i = len(raw)
				continue
			}
			i += 4 + end + 3
		case strings.HasPrefix(rest, "<?"):
			end := strings.Index(rest[2:], "?>")
			if end < 0 {
				i = len(raw)
				continue
			}
			i += 2 + end + 2
		default:
			b = append(b, '<')
			i++
		}
	}
	return string(b)
}

// child returns the first child element called name, or noNode.
func (d *xdoc) child(i int32, name string) int32 {
	for c := d.nodes[i].first; c != noNode; c = d.nodes[c].next {
		if d.name(c) == name {
			return c
		}
	}
	return noNode
}

// Lenient scalar readers: WeCom documents these fields as numbers, but a
// value that does not parse is stored as zero rather than refusing the whole
// callback (the raw XML is kept for inspection).

func parseInt(s string) int64 {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

func parseFloat(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v != v || v > 1e308 || v < -1e308 {
		return 0 // NaN and infinities are not coordinates
	}
	return v
}

func parseBool(s string) bool {
	switch strings.TrimSpace(s) {
	case "true", "1", "TRUE", "True":
		return true
	}
	return false
}

// splitStrings splits WeCom's comma lists ("a,b"; DirectLeader has been seen
// with '|'), dropping empty items.
func splitStrings(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexAny(s, ",|")
		item := s
		if i >= 0 {
			item, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// splitInts splits "1,2,3"; items that are not integers are dropped.
func splitInts(s string) []int {
	var out []int
	for s != "" {
		i := strings.IndexAny(s, ",|")
		item := s
		if i >= 0 {
			item, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if v, err := strconv.ParseInt(strings.TrimSpace(item), 10, 64); err == nil {
			out = append(out, int(v))
		}
	}
	return out
}

// xmlWriter builds WeCom-shaped XML: strings in CDATA, numbers bare.
type xmlWriter struct{ b []byte }

func (w *xmlWriter) open(name string) {
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *xmlWriter) close(name string) {
	w.b = append(w.b, '<', '/')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

// cdata writes <name><![CDATA[v]]></name>; a "]]>" inside v is split across
// two sections, the only way CDATA can carry it.
func (w *xmlWriter) cdata(name, v string) {
	w.open(name)
	w.b = append(w.b, "<![CDATA["...)
	for {
		i := strings.Index(v, "]]>")
		if i < 0 {
			break
		}
		w.b = append(w.b, v[:i+2]...)
		w.b = append(w.b, "]]><![CDATA["...)
		v = v[i+2:]
	}
	w.b = append(w.b, v...)
	w.b = append(w.b, "]]>"...)
	w.close(name)
}

// cdataNonEmpty writes the element only when v is set, the convention for
// optional fields.
func (w *xmlWriter) cdataNonEmpty(name, v string) {
	if v != "" {
		w.cdata(name, v)
	}
}

// bare writes escaped text without CDATA, for values WeCom sends bare
// (numbers, and ids such as SpNo that are numeric strings).
func (w *xmlWriter) bare(name, v string) {
	w.open(name)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '<':
			w.b = append(w.b, "&lt;"...)
		case '>':
			w.b = append(w.b, "&gt;"...)
		case '&':
			w.b = append(w.b, "&amp;"...)
		default:
			w.b = append(w.b, c)
		}
	}
	w.close(name)
}

func (w *xmlWriter) int(name string, v int64) {
	w.open(name)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.close(name)
}

func (w *xmlWriter) intNonZero(name string, v int64) {
	if v != 0 {
		w.int(name, v)
	}
}

func (w *xmlWriter) float(name string, v float64) {
	w.open(name)
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
	w.close(name)
}

func (w *xmlWriter) bool(name string, v bool) {
	w.open(name)
	w.b = strconv.AppendBool(w.b, v)
	w.close(name)
}

func joinInts(v []int) string {
	var b []byte
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return string(b)
}
