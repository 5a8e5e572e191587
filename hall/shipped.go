package hall

import (
	"context"
	"fmt"

	"github.com/wecomapp/wecomapp/hall/def"
)

// shippedOwnerNames are the offices the shipped processes belong to, by
// the codes their definitions use (def.Shipped): a university whose data
// center codes them otherwise has them found by name.
var shippedOwnerNames = map[string][]string{
	"XGC":  {"学生工作处", "学生工作部"},
	"XXZX": {"信息中心", "教育信息中心", "网络与信息中心", "信息化建设与管理处"},
	"JWC":  {"教务处"},
}

// Shipped is one shipped process as PublishShipped left it.
type Shipped struct {
	Key   string
	Owner string // the data-center code it was published under
	// Version is the version published now; 0 when it was there already
	// or could not be published (Problems say why).
	Version  int
	Problems []def.Problem
}

// PublishShipped publishes each shipped process (def.Shipped) whose key
// has no version yet — a department admin's later versions are theirs —
// with its owner office's data-center code.
func (e *Engine) PublishShipped(ctx context.Context, by string) ([]Shipped, error) {
	have, err := e.Processes(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, p := range have {
		known[p.Key] = true
	}
	ps, err := def.Shipped()
	if err != nil {
		return nil, err
	}
	owners, err := e.shippedOwners(ctx)
	if err != nil {
		return nil, err
	}
	var out []Shipped
	for _, p := range ps {
		if known[p.Key] {
			out = append(out, Shipped{Key: p.Key, Owner: p.Owner})
			continue
		}
		if code, ok := owners[p.Owner]; ok {
			p.Owner = code
		}
		v, problems, err := e.Publish(ctx, p, by)
		if err != nil {
			return out, fmt.Errorf("hall: publish %s: %w", p.Key, err)
		}
		out = append(out, Shipped{Key: p.Key, Owner: p.Owner, Version: v, Problems: problems})
	}
	return out, nil
}

// shippedOwners maps each shipped owner code the data center lacks to the
// code of the office of that name, when there is one.
func (e *Engine) shippedOwners(ctx context.Context) (map[string]string, error) {
	depts, err := e.db.ListDCDepartments(ctx)
	if err != nil {
		return nil, err
	}
	codes, byName := map[string]bool{}, map[string]string{}
	for _, d := range depts {
		codes[d.Code] = true
		if _, ok := byName[d.Name]; !ok {
			byName[d.Name] = d.Code
		}
	}
	out := map[string]string{}
	for code, names := range shippedOwnerNames {
		if codes[code] {
			continue
		}
		for _, n := range names {
			if c, ok := byName[n]; ok {
				out[code] = c
				break
			}
		}
	}
	return out, nil
}
