package contacts

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wecomapp/wecomapp/store"
)

// WeCom's limits the desired state is held to (docs/wecom.md §5).
const (
	// RootDepartment is the corp's root department; level-1 units hang
	// under it.
	RootDepartment = 1
	// MaxDepartmentLevels is the deepest a department may be, the root
	// counting as the first level (81002).
	MaxDepartmentLevels = 15
	// MaxDepartmentName is the longest department name the client sends,
	// in characters (60001; §5.2 keeps to 32).
	MaxDepartmentName = 32
	// MaxTagMembers is how many members and departments one tag holds (81003).
	MaxTagMembers = 30000
	// MaxCorpTags is how many tags a corp holds (§5.4).
	MaxCorpTags = 3000
	// CorpTagsWarn is the share of MaxCorpTags from which BuildDesired
	// warns, well before the cap is hit.
	CorpTagsWarn = 0.9
)

// Severity says what a Problem did to the desired state.
type Severity string

// Severities of problems.
const (
	// Error: the object is held (see Desired), or left out, or the plan
	// will fail on it; someone must fix the data or the rule.
	Error Severity = "error"
	// Warning: the object is in the desired state, adjusted as the message
	// says, or something needs attention before it becomes an error.
	Warning Severity = "warning"
)

// Problem is something BuildDesired found in the data center's rows or the
// tag rules: what, about which object, and what was done about it.
type Problem struct {
	Severity Severity
	Object   string // "department 1024", "member T0001", "tag 辅导员", "tags"
	Message  string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %s: %s", p.Severity, p.Object, p.Message)
}

// Desired is what WeCom's contacts should be, computed from the data
// center's tables and the tag rules. Departments and members are what
// the mirror would hold once the sync has written them (WrittenAt and
// Status zero); tags carry no id (the plan matches them by name).
type Desired struct {
	Departments []Department // by id
	Members     []Member     // by userid; leavers are here with Enabled false
	Tags        []Tag        // by name, Users sorted
	// NewIDs are the department ids BuildDesired allocated to codes that
	// are not canonical decimal numbers and had none in
	// DesiredOptions.IDs: the sync persists them with the run so the next
	// run maps the codes the same way.
	NewIDs map[string]int64
	// Held objects are left as they are in WeCom: neither updated nor
	// disabled nor deleted. Departments and members whose rows have an
	// error, members outside the data center (DesiredOptions.Keep), and
	// tags whose rule is disabled, failed or made a tag too big.
	HeldDepartments []int64
	HeldMembers     []string
	HeldTags        []string
}

// DesiredOptions are what BuildDesired needs besides the data center's
// rows.
type DesiredOptions struct {
	// IDs maps department codes that are not canonical decimal numbers
	// (canonical ones are their own ids, as in the demo) to the WeCom ids
	// the sync gave them. Persisted by the sync; the mirror's DCCode holds
	// the same mapping for departments already written (IDsFromMirror).
	IDs map[string]int64
	// Keep are userids of members outside the data center whom the
	// platform maintains itself (self-registered people): they are held.
	Keep []string
	// KeepTags are names of tags maintained elsewhere (not by rules): they
	// are held.
	KeepTags []string
	// Only, when set, limits the members to these userids: the people who
	// registered themselves (and the members already written), when the
	// university lets people join only that way (sync.members =
	// registered). Everyone else is left out of the desired state.
	Only map[string]bool
	// OtherTags is how many tags the corp holds that no rule makes (other
	// apps', the console's, KeepTags), for the corp's cap.
	OtherTags int
}

// IDsFromMirror is the code → id mapping of the departments the mirror
// holds, for DesiredOptions.IDs.
func IDsFromMirror(st State) map[string]int64 {
	out := map[string]int64{}
	for _, d := range st.Departments {
		if d.DCCode != "" {
			out[d.DCCode] = d.ID
		}
	}
	return out
}

// Member statuses that leave a member enabled. A retiree is still a member
// (served by 离退休工作处, docs/datacenter.md) and a suspended student
// comes back; left, graduated and withdrawn members are disabled, then
// deleted after the grace period (PlanOptions.DeleteAfter).
var enabledStatus = map[string]bool{"active": true, "retired": true, "enrolled": true, "suspended": true}

var disabledStatus = map[string]bool{"left": true, "graduated": true, "withdrawn": true}

// deptInfo is a desired department with what rules see of it.
type deptInfo struct {
	d         *Department
	kind      string
	codes     []string // own code first, then the ancestors'
	names     []string
	keys      []string // deptKeys(codes, names)
	held      bool
	abolished bool
}

// BuildDesired computes the desired state from one night's data center
// and the tag rules. It is pure: the same input gives the same output.
// Problems list, in a stable order, what it could not use and what is close
// to a WeCom limit.
func BuildDesired(dc store.DataCenter, rules []TagRule, opts DesiredOptions) (Desired, []Problem) {
	b := &builder{opts: opts, out: Desired{NewIDs: map[string]int64{}}}
	// Sorted copies, so that the result (problems included) does not
	// depend on the order of the rows.
	depts := slices.Clone(dc.Departments)
	slices.SortStableFunc(depts, func(x, y store.DCDepartment) int { return strings.Compare(x.Code, y.Code) })
	faculty := slices.Clone(dc.Faculty)
	slices.SortStableFunc(faculty, func(x, y store.DCFaculty) int { return strings.Compare(x.StaffNo, y.StaffNo) })
	students := slices.Clone(dc.Students)
	slices.SortStableFunc(students, func(x, y store.DCStudent) int { return strings.Compare(x.StudentNo, y.StudentNo) })
	rules = slices.Clone(rules)
	slices.SortStableFunc(rules, func(x, y TagRule) int { return strings.Compare(x.Name, y.Name) })
	b.departments(depts)
	b.members(faculty, students)
	b.tags(rules)
	return b.out, b.problems
}

type builder struct {
	opts     DesiredOptions
	out      Desired
	problems []Problem
	depts    map[string]*deptInfo // by code: desired, held and abolished
	// records: each desired member's data-center records, for tag rules.
	records map[string][]record
}

// record is one data-center record of a member as tag rules see it, with
// its index keys (see ruleSet).
type record struct {
	env  Env
	keys []string
}

func (b *builder) problem(sev Severity, object, format string, args ...any) {
	b.problems = append(b.problems, Problem{Severity: sev, Object: object, Message: fmt.Sprintf(format, args...)})
}

// canonicalID is the id a decimal code stands for, as in the demo
// (department 1024 is code "1024"): a canonical decimal above the root
// within WeCom's 32-bit ids.
func canonicalID(code string) (int64, bool) {
	n, err := strconv.ParseInt(code, 10, 64)
	if err != nil || n <= RootDepartment || n > math.MaxInt32 || strconv.FormatInt(n, 10) != code {
		return 0, false
	}
	return n, true
}

// departmentName makes a name WeCom takes: at most 32 characters, none of
// \ : * ? " < > | (60001, 60009).
func departmentName(name string) (string, bool) {
	clean := strings.Map(func(r rune) rune {
		if strings.ContainsRune(`\:*?"<>|`, r) || r < ' ' {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	if utf8.RuneCountInString(clean) > MaxDepartmentName {
		clean = string([]rune(clean)[:MaxDepartmentName])
	}
	return clean, clean == name
}

func (b *builder) departments(rows []store.DCDepartment) {
	byCode := make(map[string]*store.DCDepartment, len(rows))
	codes := make([]string, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		if _, dup := byCode[r.Code]; dup {
			b.problem(Error, "department "+r.Code, "appears twice; the second row is ignored")
			continue
		}
		byCode[r.Code] = r
		codes = append(codes, r.Code)
	}
	slices.Sort(codes)

	// Ids: canonical codes are their own; others come from opts.IDs or are
	// allocated above every id in use, in code order.
	ids := make(map[string]int64, len(codes))
	owner := map[int64]string{}
	var maxID int64 = RootDepartment
	var toAllocate []string
	for _, c := range codes {
		id, ok := canonicalID(c)
		if !ok {
			id, ok = b.opts.IDs[c]
		}
		if !ok {
			toAllocate = append(toAllocate, c)
			continue
		}
		if prev, taken := owner[id]; taken {
			b.problem(Error, "department "+c, "its id %d is also department %s's; it is left out", id, prev)
			continue
		}
		owner[id], ids[c] = c, id
		maxID = max(maxID, id)
	}
	for _, v := range b.opts.IDs {
		maxID = max(maxID, v)
	}
	for _, c := range toAllocate {
		maxID++
		ids[c], owner[maxID] = maxID, c
		b.out.NewIDs[c] = maxID
		b.problem(Warning, "department "+c, "new: given id %d (its code is not a canonical number), to be kept with the run", maxID)
	}

	// Resolve each department's chain to the root, once each.
	b.depts = make(map[string]*deptInfo, len(codes))
	const (
		visiting = iota + 1
		done
	)
	state := map[string]int{}
	var resolve func(code string) *deptInfo
	resolve = func(code string) *deptInfo {
		switch state[code] {
		case done:
			return b.depts[code]
		case visiting:
			return nil // a cycle: reported by the caller
		}
		state[code] = visiting
		r := byCode[code]
		id, hasID := ids[code]
		info := &deptInfo{kind: r.Kind}
		name, clean := departmentName(r.Name)
		info.d = &Department{ID: id, DCCode: code, Name: name, ParentID: RootDepartment, Order: int64(r.SortOrder)}
		info.codes, info.names = []string{code}, []string{r.Name}
		obj := "department " + code
		switch {
		case !hasID:
			info.held = true
		case !r.Enabled:
			info.abolished = true
		case name == "":
			b.problem(Error, obj, "has no name; it is held as it is")
			info.held = true
		}
		if r.ParentCode != "" && !info.held {
			p, known := byCode[r.ParentCode]
			var pi *deptInfo
			if known {
				pi = resolve(p.Code)
			}
			switch {
			case !known:
				b.problem(Error, obj, "its parent %s is not a department; it is held as it is", r.ParentCode)
				info.held = true
			case pi == nil:
				b.problem(Error, obj, "is its own ancestor (through %s); it is held as it is", r.ParentCode)
				info.held = true
			case pi.held:
				info.held = true
				if !info.abolished {
					b.problem(Error, obj, "its parent %s is held; it is held too", r.ParentCode)
				}
			case pi.abolished && !info.abolished:
				b.problem(Error, obj, "its parent %s is abolished but it is not; it is held as it is", r.ParentCode)
				info.held = true
			case !pi.abolished:
				info.d.ParentID = pi.d.ID
				info.codes = append(info.codes, pi.codes...)
				info.names = append(info.names, pi.names...)
			}
		}
		if !info.held && !info.abolished {
			if levels := len(info.codes) + 1; levels > MaxDepartmentLevels {
				b.problem(Error, obj, "is at level %d, below WeCom's %d; it is held as it is", levels, MaxDepartmentLevels)
				info.held = true
			} else if !clean {
				b.problem(Warning, obj, "name %q is sent as %q (WeCom takes %d characters without \\ : * ? \" < > |)", r.Name, name, MaxDepartmentName)
			}
		}
		state[code] = done
		b.depts[code] = info
		return info
	}
	for _, c := range codes {
		resolve(c)
	}

	siblings := map[string]string{} // parent id + name → code, for 60008
	for _, c := range codes {
		info := b.depts[c]
		switch {
		case info.held:
			if id, ok := ids[c]; ok {
				b.out.HeldDepartments = append(b.out.HeldDepartments, id)
			}
		case !info.abolished:
			key := strconv.FormatInt(info.d.ParentID, 10) + "/" + info.d.Name
			if prev, dup := siblings[key]; dup {
				b.problem(Error, "department "+c, "has the name %q of its sibling %s (WeCom wants names unique under a parent)", info.d.Name, prev)
			}
			siblings[key] = c
			b.out.Departments = append(b.out.Departments, *info.d)
		}
	}
	slices.SortFunc(b.out.Departments, func(x, y Department) int { return cmpInt(x.ID, y.ID) })
	slices.Sort(b.out.HeldDepartments)
	// Leaders are filled in by members(); point the infos at the sorted copies.
	for i := range b.out.Departments {
		b.depts[b.out.Departments[i].DCCode].d = &b.out.Departments[i]
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// placement is where a record puts its member: the department's id, or
// hold (the department is held), with a problem for odd cases.
func (b *builder) placement(obj, code string) (info *deptInfo, hold bool) {
	info, ok := b.depts[code]
	switch {
	case !ok:
		b.problem(Warning, obj, "department %s is unknown; the member is put under the root", code)
		return nil, false
	case info.held:
		b.problem(Error, obj, "department %s is held; the member is held too", code)
		return nil, true
	case info.abolished:
		b.problem(Warning, obj, "department %s is abolished; the member is put under the root", code)
		return nil, false
	}
	return info, false
}

func (b *builder) recordFor(info *deptInfo, e Env) record {
	if info == nil {
		e.Depts, e.DeptNames = []string{}, []string{}
		return record{env: e}
	}
	e.DeptName, e.DeptKind, e.Depts, e.DeptNames = info.names[0], info.kind, info.codes, info.names
	if info.keys == nil {
		info.keys = deptKeys(info.codes, info.names)
	}
	return record{env: e, keys: info.keys}
}

func (b *builder) members(faculty []store.DCFaculty, students []store.DCStudent) {
	byKey := map[string]*Member{} // lower-case userid
	held := map[string]bool{}
	spelling := map[string]string{} // lower-case userid → as written
	holdMember := func(userID string) {
		held[strings.ToLower(userID)] = true
		if _, ok := spelling[strings.ToLower(userID)]; !ok {
			spelling[strings.ToLower(userID)] = userID
		}
	}
	b.records = map[string][]record{}
	collegeKeys := map[string]string{}
	enabled := func(obj, status string) bool {
		switch {
		case enabledStatus[status]:
			return true
		case disabledStatus[status]:
			return false
		}
		b.problem(Warning, obj, "status %q is unknown; the member is kept enabled", status)
		return true
	}
	add := func(userID, name string, gender int, mobile, email string, en bool, info *deptInfo, leader bool) *Member {
		key := strings.ToLower(userID)
		dept := int64(RootDepartment)
		if info != nil {
			dept = info.d.ID
		}
		m, ok := byKey[key]
		if !ok {
			m = &Member{UserID: userID, Name: name, MainDepartment: dept, Gender: gender, Enabled: en, Mobile: mobile, Email: email}
			byKey[key] = m
		} else {
			// A staff member who studies here too: one member, the staff
			// record's values first, enabled if either record is.
			m.Enabled = m.Enabled || en
			if m.Mobile == "" {
				m.Mobile = mobile
			}
			if m.Email == "" {
				m.Email = email
			}
		}
		for i, ms := range m.Departments {
			if ms.Department == dept {
				m.Departments[i].Leader = ms.Leader || leader
				return m
			}
		}
		m.Departments = append(m.Departments, Membership{Department: dept, Leader: leader})
		return m
	}
	for _, f := range faculty {
		obj := "member " + f.StaffNo
		if f.StaffNo == "" || strings.TrimSpace(f.Name) == "" {
			b.problem(Error, obj, "has no userid or no name; left alone")
			holdMember(f.StaffNo)
			continue
		}
		info, hold := b.placement(obj, f.DeptCode)
		if hold {
			holdMember(f.StaffNo)
			continue
		}
		en := enabled(obj, f.Status)
		m := add(f.StaffNo, f.Name, f.Gender, f.Mobile, f.Email, en, info, en && f.IsLeader && info != nil)
		m.Position = f.Position
		if m.UserID != f.StaffNo {
			b.problem(Error, obj, "is also %s (userids ignore letter case)", m.UserID)
		}
		if en && f.IsLeader && info != nil {
			info.d.Leaders = append(info.d.Leaders, m.UserID)
		}
		if en {
			key := strings.ToLower(m.UserID)
			b.records[key] = append(b.records[key], b.recordFor(info, Env{Kind: EnvFaculty, Category: f.Category, Position: f.Position,
				Leader: f.IsLeader, Status: f.Status, Dept: f.DeptCode, Gender: f.Gender}))
		}
	}
	for _, s := range students {
		obj := "member " + s.StudentNo
		if s.StudentNo == "" || strings.TrimSpace(s.Name) == "" {
			b.problem(Error, obj, "has no userid or no name; left alone")
			holdMember(s.StudentNo)
			continue
		}
		code := s.ClassCode
		if c, ok := b.depts[code]; code == "" || !ok || c.abolished {
			// Postgraduates have no class; a student whose class is gone
			// stays in their college.
			code = s.CollegeCode
		}
		info, hold := b.placement(obj, code)
		if hold {
			holdMember(s.StudentNo)
			continue
		}
		en := enabled(obj, s.Status)
		m := add(s.StudentNo, s.Name, s.Gender, s.Mobile, s.Email, en, info, false)
		if m.UserID != s.StudentNo {
			// The staff record of the same person, spelt otherwise.
			b.problem(Warning, obj, "is the faculty member %s (userids ignore letter case)", m.UserID)
		}
		if en {
			key := strings.ToLower(m.UserID)
			r := b.recordFor(info, Env{Kind: EnvStudent, Category: EnvStudent, Status: s.Status,
				Level: s.Level, Grade: s.Grade, Dept: code, College: s.CollegeCode, Major: s.Major, Gender: s.Gender})
			ck, ok := collegeKeys[s.CollegeCode]
			if !ok {
				ck = "k:" + s.CollegeCode
				collegeKeys[s.CollegeCode] = ck
			}
			r.keys = append(slices.Clip(r.keys), ck)
			b.records[key] = append(b.records[key], r)
		}
	}
	for _, k := range b.opts.Keep {
		holdMember(k)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		m := byKey[k]
		if held[k] {
			// Its problem is reported above, or it is kept on purpose.
			spelling[k] = m.UserID
			delete(b.records, k)
			continue
		}
		if b.opts.Only != nil && !b.opts.Only[m.UserID] {
			// Not enrolled (sync.members = registered): not a member until
			// they register themselves.
			delete(b.records, k)
			continue
		}
		if m.Enabled && m.Mobile == "" && m.Email == "" {
			b.problem(Warning, "member "+m.UserID, "has neither mobile nor email; WeCom refuses to create such a member (60129)")
		}
		m.MainDepartment = m.Departments[0].Department
		b.out.Members = append(b.out.Members, *m)
	}
	slices.SortFunc(b.out.Members, func(x, y Member) int { return strings.Compare(x.UserID, y.UserID) })
	for k := range held {
		b.out.HeldMembers = append(b.out.HeldMembers, spelling[k])
	}
	slices.Sort(b.out.HeldMembers)
	for i := range b.out.Departments {
		slices.Sort(b.out.Departments[i].Leaders)
	}
}

func (b *builder) tags(rules []TagRule) {
	var compiled []*tagRule
	seen := map[string]bool{}
	held := map[string]bool{}
	for _, r := range rules {
		obj := "tag " + r.Name
		if seen[r.Name] {
			b.problem(Error, obj, "has two rules; the second is ignored")
			continue
		}
		seen[r.Name] = true
		if !r.Enabled {
			held[r.Name] = true
			continue
		}
		c, err := compileTagRule(r)
		if err != nil {
			b.problem(Error, obj, "%v; the tag is held as it is", err)
			held[r.Name] = true
			continue
		}
		compiled = append(compiled, c)
	}
	for _, k := range b.opts.KeepTags {
		held[k] = true
	}
	set := newRuleSet(compiled)
	users := make([][]string, len(compiled))
	failed := make([]error, len(compiled))
	stamp := 0
	var matched []int
	// Members are sorted by userid, so each tag's users come out sorted.
	for _, m := range b.out.Members {
		if !m.Enabled {
			continue // a disabled member is in no tag
		}
		recs := b.records[strings.ToLower(m.UserID)]
		matched = matched[:0]
		for e := range recs {
			stamp++
			set.candidates(recs[e].keys, stamp, func(i int) {
				if failed[i] != nil || slices.Contains(matched, i) {
					return
				}
				ok, err := compiled[i].eval(&recs[e].env)
				if err != nil {
					failed[i] = fmt.Errorf("on member %s: %w", m.UserID, err)
					return
				}
				if ok {
					matched = append(matched, i)
				}
			})
		}
		for _, i := range matched {
			users[i] = append(users[i], m.UserID)
		}
	}
	for i, c := range compiled {
		obj := "tag " + c.Name
		switch {
		case held[c.Name]:
		case failed[i] != nil:
			b.problem(Error, obj, "the rule failed %v; the tag is held as it is", failed[i])
			held[c.Name] = true
		case len(users[i]) > MaxTagMembers:
			b.problem(Error, obj, "the rule matches %d members, more than WeCom's %d a tag; the tag is held as it is", len(users[i]), MaxTagMembers)
			held[c.Name] = true
		default:
			if len(users[i]) > MaxTagMembers*9/10 {
				b.problem(Warning, obj, "the rule matches %d members, close to WeCom's %d a tag", len(users[i]), MaxTagMembers)
			}
			b.out.Tags = append(b.out.Tags, Tag{Name: c.Name, Users: users[i]})
		}
	}
	slices.SortFunc(b.out.Tags, func(x, y Tag) int { return strings.Compare(x.Name, y.Name) })
	for k := range held {
		b.out.HeldTags = append(b.out.HeldTags, k)
	}
	slices.Sort(b.out.HeldTags)

	// The corp's cap counts every tag: ours (held ones too, they exist)
	// and the others'.
	total := len(b.out.Tags) + len(b.out.HeldTags) - len(b.opts.KeepTags) + b.opts.OtherTags
	switch {
	case total > MaxCorpTags:
		b.problem(Error, "tags", "the corp would hold %d tags, more than WeCom's %d: creating tags will fail; retire some rules", total, MaxCorpTags)
	case float64(total) >= CorpTagsWarn*MaxCorpTags:
		b.problem(Warning, "tags", "the corp would hold %d tags, %.0f%% of WeCom's %d", total, 100*float64(total)/MaxCorpTags, MaxCorpTags)
	}
}
