package def

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"

	"gopkg.in/yaml.v3"
)

// shipped are the processes the hall comes with, for the demo and as
// starting points in the designer. Their owners are data-center
// department codes the demo's data center must have: XGC (学生工作处),
// XXZX (教育信息中心) and JWC (教务处); their approvers are tags the demo
// must fill (学生工作处审批人, 信息中心运维, 教务处证明办理) and the
// counselors, college posts (党委副书记) and department leaders of the
// data center.
//
//go:embed shipped/*.yaml
var shipped embed.FS

// Shipped parses the shipped processes, in file-name order; each call
// returns new values the caller may change.
func Shipped() ([]*Process, error) {
	names, err := fsGlob()
	if err != nil {
		return nil, err
	}
	var out []*Process
	for _, name := range names {
		b, err := shipped.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("def: reading shipped process %s: %w", name, err)
		}
		p, err := ParseYAML(b)
		if err != nil {
			return nil, fmt.Errorf("def: shipped process %s: %w", path.Base(name), err)
		}
		out = append(out, p)
	}
	return out, nil
}

func fsGlob() ([]string, error) {
	entries, err := shipped.ReadDir("shipped")
	if err != nil {
		return nil, fmt.Errorf("def: listing shipped processes: %w", err)
	}
	var names []string
	for _, e := range entries {
		if path.Ext(e.Name()) == ".yaml" {
			names = append(names, "shipped/"+e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// ParseYAML reads a definition written in YAML (as the shipped ones are).
// Unknown keys are an error: a misspelt "requried" would otherwise
// silently make a field optional. It does not Validate.
func ParseYAML(b []byte) (*Process, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p Process
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("def: parsing a YAML definition: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("def: parsing a YAML definition: more than one document")
	}
	return &p, nil
}

// ParseJSON reads a definition as the engine stores it (json.Marshal of
// a Process) or the designer posts it. Unknown keys and trailing data are
// errors. It does not Validate.
func ParseJSON(b []byte) (*Process, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Process
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("def: parsing a JSON definition: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("def: parsing a JSON definition: data after the definition")
	}
	return &p, nil
}
