package config

import (
	"encoding/json"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Secret is a value that must never be logged or dumped: corp secrets,
// callback tokens, EncodingAESKeys, the data key, passwords. In config.yaml
// a secret can only name a file ({file: /run/secrets/x}); its value comes
// from WECOMAPP_<KEY> or the file named by WECOMAPP_<KEY>_FILE.
type Secret struct {
	// value is unexported so that nothing that walks exported fields
	// (encoding/json, zap.Reflect, a template) can ever print it; read it
	// with Value.
	value string
	// File is the path the value was (or will be) read from.
	File string
	// Source says where the value came from, for messages: an environment
	// variable, a file, or config.yaml.
	Source string
	// inline marks a value written directly in config.yaml, allowed only
	// for soft secrets (the database DSN: a SQLite path has no password).
	inline bool
}

// NewSecret is a secret with its value and where it came from (for
// messages): "WECOMAPP_X", "generated for the simulator", a test.
func NewSecret(value, source string) Secret { return Secret{value: value, Source: source} }

// Value is the secret itself, for the one place that uses it (a client's
// credentials, a crypter, a DSN). Never log or print it.
func (s Secret) Value() string { return s.value }

// Set replaces the value and its source.
func (s *Secret) Set(value, source string) { s.value, s.Source = value, source }

// String redacts, so %v and zap's Stringer never print the value.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return "[redacted]"
}

// MarshalJSON redacts, so json.Marshal and zap's reflection encoder show
// only where a secret came from.
func (s Secret) MarshalJSON() ([]byte, error) {
	out, err := s.MarshalYAML()
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// MarshalText redacts for every text encoding (encoding/xml, TOML, zap's
// text fields).
func (s Secret) MarshalText() ([]byte, error) {
	out, _ := s.MarshalYAML()
	return []byte(out.(string)), nil
}

// GoString redacts for %#v.
func (s Secret) GoString() string { return s.String() }

// IsSet reports whether a value is present.
func (s Secret) IsSet() bool { return s.value != "" }

// MarshalYAML redacts, so `wecomapp config dump` shows where a secret came
// from but never what it is.
func (s Secret) MarshalYAML() (any, error) {
	switch {
	case s.value == "" && s.File == "":
		return "", nil
	case s.Source != "":
		return "[redacted; from " + s.Source + "]", nil
	default:
		return "[redacted]", nil
	}
}

// UnmarshalYAML accepts {file: path} or, for soft secrets only (checked in
// validation), a plain string.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var v string
		if err := n.Decode(&v); err != nil {
			return err
		}
		*s = Secret{value: v, Source: "config.yaml", inline: v != ""}
		return nil
	case yaml.MappingNode:
		var m struct {
			File string `yaml:"file"`
		}
		dec := n
		if err := dec.Decode(&m); err != nil {
			return err
		}
		if m.File == "" {
			return errors.New("secret mapping needs a file key, e.g. {file: /run/secrets/wecom-secret}")
		}
		*s = Secret{File: m.File, Source: "file " + m.File}
		return nil
	default:
		return fmt.Errorf("line %d: a secret is a file reference like {file: /run/secrets/x}", n.Line)
	}
}
