package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one invalid setting: the key, where its value came from, what
// is wrong and an example of a good value.
type Problem struct {
	Key     string
	Source  string
	Problem string
	Example string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Key)
	if p.Source != "" {
		b.WriteString(" (from ")
		b.WriteString(p.Source)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(p.Problem)
	if p.Example != "" {
		b.WriteString("; example: ")
		b.WriteString(p.Example)
	}
	return b.String()
}

// Error lists every problem found, so one start-up attempt shows them all.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "config: " + e.Problems[0].String()
	}
	// One line, as every fatal message of the CLI: log collectors and
	// systemd keep it together.
	var b strings.Builder
	fmt.Fprintf(&b, "config: %d problems: ", len(e.Problems))
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Load reads the YAML file at path (a missing file is fine when path is the
// default and optional is true), applies the environment and secret files,
// and validates. environ is os.Environ() in production and a fixed list in
// tests.
func Load(path string, optional bool, environ []string) (*Config, error) {
	cfg := Defaults()
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("config: %s: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist) && optional:
	default:
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}

	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix+"_") {
			env[k] = v
		}
	}
	var problems []Problem
	known := map[string]bool{}
	walk(reflect.ValueOf(&cfg).Elem(), "", EnvPrefix, func(f field) {
		known[f.env] = true
		if f.secret {
			known[f.env+"_FILE"] = true
		}
		if p := f.apply(env); p != nil {
			problems = append(problems, *p)
		}
	})
	for k := range env {
		if known[k] || strings.HasPrefix(k, EnvPrefix+"_TEST_") || k == EnvPrefix+"_CONFIG" {
			continue
		}
		problems = append(problems, Problem{Key: k, Problem: "is not a setting wecomapp knows", Example: closest(k, known)})
	}
	problems = append(problems, validate(&cfg)...)
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Key < problems[j].Key })
		return nil, &Error{Problems: problems}
	}
	return &cfg, nil
}

// field is one leaf setting found by walk.
type field struct {
	key    string // yaml path, e.g. wecom.apps[hall].secret
	env    string // environment variable
	v      reflect.Value
	secret bool
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	secretType   = reflect.TypeOf(Secret{})
)

// walk visits every leaf setting. Slices of structs are addressed by their
// key field (apps by name), so an environment variable names an app, not an
// index that shifts when the list is edited.
func walk(v reflect.Value, key, env string, visit func(field)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := strings.Split(sf.Tag.Get("yaml"), ",")
		fv := v.Field(i)
		if len(tag) > 1 && tag[1] == "inline" {
			walk(fv, key, env, visit)
			continue
		}
		name := tag[0]
		k := name
		if key != "" {
			k = key + "." + name
		}
		e := env + "_" + strings.ToUpper(name)
		switch {
		case sf.Type == secretType:
			visit(field{key: k, env: e, v: fv, secret: true})
		case sf.Type.Kind() == reflect.Struct:
			walk(fv, k, e, visit)
		case sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.Struct:
			keyField := sf.Tag.Get("key")
			for j := 0; j < fv.Len(); j++ {
				item := fv.Index(j)
				id := item.FieldByName(exported(keyField)).String()
				walk(item, fmt.Sprintf("%s[%s]", k, id), e+"_"+envName(id), visit)
			}
		default:
			visit(field{key: k, env: e, v: fv})
		}
	}
}

func exported(s string) string {
	if s == "" {
		return "Name"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		default:
			return '_'
		}
	}, s)
}

// apply sets the field from the environment (or its secret file) and
// reports a value that does not parse.
func (f field) apply(env map[string]string) *Problem {
	if f.secret {
		s := f.v.Addr().Interface().(*Secret)
		if v, ok := env[f.env]; ok {
			*s = Secret{value: v, Source: f.env}
		} else if p, ok := env[f.env+"_FILE"]; ok {
			*s = Secret{File: p, Source: f.env + "_FILE"}
		}
		if s.File != "" {
			b, err := os.ReadFile(s.File)
			if err != nil {
				return &Problem{Key: f.key, Source: s.Source, Problem: "cannot read secret file: " + err.Error(), Example: "/run/secrets/wecomapp-" + strings.ReplaceAll(f.key, ".", "-")}
			}
			s.value = strings.TrimRight(string(b), "\r\n")
			if s.Source == "" {
				s.Source = "file " + s.File
			}
		}
		return nil
	}
	raw, ok := env[f.env]
	if !ok {
		return nil
	}
	bad := func(problem, example string) *Problem {
		return &Problem{Key: f.key, Source: f.env, Problem: fmt.Sprintf("%q %s", raw, problem), Example: example}
	}
	switch {
	case f.v.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return bad("is not a duration", "30s, 5m or 1h30m")
		}
		f.v.SetInt(int64(d))
	case f.v.Kind() == reflect.String:
		f.v.SetString(raw)
	case f.v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return bad("is not a boolean", "true or false")
		}
		f.v.SetBool(b)
	case f.v.Kind() == reflect.Int || f.v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return bad("is not an integer", "8")
		}
		f.v.SetInt(n)
	case f.v.Kind() == reflect.Slice && f.v.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.v.Set(reflect.ValueOf(parts))
	default:
		return bad("cannot be set from the environment", "")
	}
	return nil
}

// closest suggests the known variable nearest to a mistyped one.
func closest(name string, known map[string]bool) string {
	best, bestD := "", 1<<30
	for k := range known {
		if d := distance(name, k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	if bestD > len(name)/3+2 {
		return "unset it, or see config.yaml for the settings"
	}
	return best
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Dump renders the effective configuration with secrets redacted.
func (c *Config) Dump() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("config: dump: %w", err)
	}
	return b.Bytes(), nil
}
