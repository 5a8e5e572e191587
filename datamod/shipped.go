package datamod

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"sort"

	"gopkg.in/yaml.v3"
)

//go:embed shipped/*.yaml
var shippedFS embed.FS

// Shipped are the definitions every installation starts with
// (datamod/shipped/*.yaml), by key: one per data module of the catalog
// (courses, exams, scores, library_loans, network_fee, campus_card,
// salary, research) over the shared database's tables as the demo builds
// them (package shareddemo). A real university's tables differ: the
// console edits the definitions.
func Shipped() ([]Definition, error) {
	names, err := fs.Glob(shippedFS, "shipped/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("datamod: list shipped definitions: %w", err)
	}
	var out []Definition
	for _, n := range names {
		b, err := shippedFS.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("datamod: read %s: %w", n, err)
		}
		var d Definition
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("datamod: parse %s: %w", n, err)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
