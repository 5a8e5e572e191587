package config

import (
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// Secret is a value that must never be logged or dumped: corp secrets,
// callback tokens, EncodingAESKeys, the data key, passwords. In config.yaml
// a secret can only name a file ({file: /run/secrets/x}); its value comes
// from WECOMAPP_<KEY> or the file named by WECOMAPP_<KEY>_FILE.
type Secret struct {
	Value string
	// File is the path the value was (or will be) read from.
	File string
	// Source says where the value came from, for messages: an environment
	// variable, a file, or config.yaml.
	Source string
	// inline marks a value written directly in config.yaml, allowed only
	// for soft secrets (the database DSN: a SQLite path has no password).
	inline bool
}

// String redacts, so %v and zap's Stringer never print the value.
func (s Secret) String() string {
	if s.Value == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts for %#v.
func (s Secret) GoString() string { return s.String() }

// IsSet reports whether a value is present.
func (s Secret) IsSet() bool { return s.Value != "" }

// MarshalYAML redacts, so `wecomapp config dump` shows where a secret came
// from but never what it is.
func (s Secret) MarshalYAML() (any, error) {
	switch {
	case s.Value == "" && s.File == "":
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
		*s = Secret{Value: v, Source: "config.yaml", inline: v != ""}
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
