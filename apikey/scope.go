package apikey

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wecomapp/wecomapp/coord"
)

// Scope is whom a key may send to. Its text form is terms separated by
// spaces:
//
//	all                  anyone: every recipient kind, the whole university included
//	userids              any member, named by userid
//	userids:T1001,T1002  only these members (userids compare regardless of case, as WeCom's do)
//	tags:12,13           these WeCom tags
//	departments:5        WeCom department 5 and every department below it
//	roles:counselor      these workbench roles
//	mobiles              anyone by mobile number (SMS)
//
// e.g. "tags:12,13 departments:5 roles:counselor". Terms of one kind
// merge; values are kept sorted and unique.
type Scope struct {
	All         bool
	AnyUser     bool     // userids: any member
	UserIDs     []string // userids:… (when not AnyUser)
	Tags        []int64
	Departments []int64
	Roles       []string
	Mobiles     bool
}

// Empty says whether the scope reaches nobody.
func (s Scope) Empty() bool {
	return !s.All && !s.AnyUser && !s.Mobiles && len(s.UserIDs)+len(s.Tags)+len(s.Departments)+len(s.Roles) == 0
}

// ParseScope reads a scope's text form. Several arguments are joined, so
// a repeated command-line flag reads as one scope.
func ParseScope(terms ...string) (Scope, error) {
	var s Scope
	for _, term := range strings.Fields(strings.Join(terms, " ")) {
		kind, list, hasList := strings.Cut(term, ":")
		if hasList && list == "" {
			return Scope{}, fmt.Errorf("scope term %q lists nothing after the colon", term)
		}
		var vals []string
		if hasList {
			vals = strings.Split(list, ",")
		}
		switch kind {
		case "all", "mobiles":
			if hasList {
				return Scope{}, fmt.Errorf("scope term %q takes no list (write %s)", term, kind)
			}
			if kind == "all" {
				s.All = true
			} else {
				s.Mobiles = true
			}
		case "userids":
			if !hasList {
				s.AnyUser = true
				continue
			}
			for _, v := range vals {
				if !ValidUserID(v) {
					return Scope{}, fmt.Errorf("scope: %q is not a WeCom userid (1 to 64 of 0-9 A-Z a-z _ - @ ., starting with a letter or digit)", v)
				}
				s.UserIDs = append(s.UserIDs, v)
			}
		case "tags", "departments":
			if !hasList {
				return Scope{}, fmt.Errorf("scope term %q needs its ids: %s:12,13", term, kind)
			}
			for _, v := range vals {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil || id <= 0 {
					return Scope{}, fmt.Errorf("scope: %s: %q is not a WeCom id (a positive integer)", kind, v)
				}
				if kind == "tags" {
					s.Tags = append(s.Tags, id)
				} else {
					s.Departments = append(s.Departments, id)
				}
			}
		case "roles":
			if !hasList {
				return Scope{}, fmt.Errorf("scope term %q needs its role keys: roles:counselor", term)
			}
			for _, v := range vals {
				if v == "" || len(v) > 64 {
					return Scope{}, fmt.Errorf("scope: roles: %q is not a role key", v)
				}
				s.Roles = append(s.Roles, v)
			}
		default:
			return Scope{}, fmt.Errorf("scope term %q is not one of all, userids[:…], tags:…, departments:…, roles:…, mobiles", term)
		}
	}
	s.normalize()
	if s.Empty() {
		return Scope{}, fmt.Errorf("the scope names nobody: give terms such as tags:12,13 departments:5 roles:counselor userids mobiles all")
	}
	return s, nil
}

func (s *Scope) normalize() {
	if s.AnyUser {
		s.UserIDs = nil
	}
	slices.Sort(s.UserIDs)
	s.UserIDs = slices.Compact(s.UserIDs)
	slices.Sort(s.Tags)
	s.Tags = slices.Compact(s.Tags)
	slices.Sort(s.Departments)
	s.Departments = slices.Compact(s.Departments)
	slices.Sort(s.Roles)
	s.Roles = slices.Compact(s.Roles)
}

// String is the scope's text form, as ParseScope reads it.
func (s Scope) String() string {
	var terms []string
	if s.All {
		terms = append(terms, "all")
	}
	if s.AnyUser {
		terms = append(terms, "userids")
	} else if len(s.UserIDs) > 0 {
		terms = append(terms, "userids:"+strings.Join(s.UserIDs, ","))
	}
	ints := func(vs []int64) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = strconv.FormatInt(v, 10)
		}
		return strings.Join(out, ",")
	}
	if len(s.Tags) > 0 {
		terms = append(terms, "tags:"+ints(s.Tags))
	}
	if len(s.Departments) > 0 {
		terms = append(terms, "departments:"+ints(s.Departments))
	}
	if len(s.Roles) > 0 {
		terms = append(terms, "roles:"+strings.Join(s.Roles, ","))
	}
	if s.Mobiles {
		terms = append(terms, "mobiles")
	}
	return strings.Join(terms, " ")
}

// ValidUserID is WeCom's rule for a userid (docs/wecom.md §5.3): 1 to 64
// bytes of 0-9 A-Z a-z _ - @ ., starting with a letter or digit.
func ValidUserID(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case i > 0 && (r == '_' || r == '-' || r == '@' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// Rate is a key's rate limit: N requests per Per, as a token bucket of N
// refilled evenly over Per (so a burst of N, then one every Per/N).
type Rate struct {
	N   int
	Per time.Duration
}

// DefaultRate is a key's rate when none is given.
var DefaultRate = Rate{N: 60, Per: time.Minute}

// Bounds of a rate: its count, and its pace, which also bounds the
// nonces a key keeps in the coordination layer (MaxPerSecond × NonceTTL).
const (
	MaxRateN     = 100000
	MaxPerSecond = 100
)

var rateUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second,
	"min": time.Minute, "minute": time.Minute,
	"h": time.Hour, "hour": time.Hour,
}

// ParseRate reads "60/min", "5/s" or "1000/h".
func ParseRate(s string) (Rate, error) {
	n, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	per, known := rateUnits[unit]
	count, err := strconv.Atoi(n)
	if !ok || !known || err != nil {
		return Rate{}, fmt.Errorf("rate %q is not COUNT/UNIT with a unit of s, min or h (e.g. 60/min)", s)
	}
	r := Rate{N: count, Per: per}
	if err := r.check(); err != nil {
		return Rate{}, fmt.Errorf("rate %q: %w", s, err)
	}
	return r, nil
}

func (r Rate) check() error {
	switch {
	case r.N < 1 || r.N > MaxRateN:
		return fmt.Errorf("the count must be 1 to %d", MaxRateN)
	case r.Per < time.Second || r.Per%time.Second != 0:
		return fmt.Errorf("the period must be whole seconds")
	case float64(r.N)/r.Per.Seconds() > MaxPerSecond:
		return fmt.Errorf("at most %d requests a second", MaxPerSecond)
	}
	return nil
}

// String is the rate as ParseRate reads it.
func (r Rate) String() string {
	switch r.Per {
	case time.Second:
		return fmt.Sprintf("%d/s", r.N)
	case time.Minute:
		return fmt.Sprintf("%d/min", r.N)
	case time.Hour:
		return fmt.Sprintf("%d/h", r.N)
	}
	return fmt.Sprintf("%d/%ds", r.N, int64(r.Per/time.Second))
}

// Limit is the rate as a coordination-layer token bucket.
func (r Rate) Limit() coord.Limit {
	return coord.Limit{Rate: float64(r.N) / r.Per.Seconds(), Burst: r.N}
}

// retryAfterSeconds rounds a wait up to whole seconds (Retry-After), at
// least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
