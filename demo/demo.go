// Package demo generates the demo university: its org tree, people and
// tags, deterministically, at two sizes. The small one seeds `make run`
// and the tests; the full one has the figures of Guangdong Ocean
// University's platform (2,013 departments, 36,000 people, 2,400+ tags) for
// benchmarks.
//
// The same university feeds both sides of org sync: the data center's
// intermediate tables (DataCenter) and, for the embedded default, the
// simulated WeCom corp (SimFixture), as if last night's sync had run. Our
// own records of it (PeopleExt, PersonTags) hold what the data center does
// not: the people who registered themselves and the tags people are in.
package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Department kinds.
const (
	KindRoot      = "root"
	KindCollege   = "college"
	KindOffice    = "office"
	KindTeaching  = "teaching" // 系/教研室 under a college
	KindGrade     = "grade"    // 2024级 under a college
	KindClass     = "class"    // 班级 under a grade
	KindPostgrad  = "postgrad" // 研究生 under a college
	KindVirtual   = "virtual"  // 校友, 考生, 访客: people outside the data center
	KindLeaders   = "leaders"  // 校领导
	RootID        = 1
	LeadersDeptID = 2
)

// PositionDeputySecretary is the post of each college's 党委副书记, who
// approves students' longer leave in the service hall.
const PositionDeputySecretary = "党委副书记"

// Person categories: the identities the workbenches are built for.
const (
	CatLeader     = "leader"      // 校领导
	CatCadre      = "cadre"       // 中层干部: heads of colleges and offices
	CatStaff      = "staff"       // 在编教职工
	CatNonStaffed = "non_staffed" // 非编人员
	CatCounselor  = "counselor"   // 辅导员 (staff with students)
	CatUndergrad  = "undergraduate"
	CatPostgrad   = "postgraduate"
	CatAlumnus    = "alumnus"
	CatExaminee   = "examinee"
	CatVisitor    = "visitor"
	CatRetired    = "retired" // 离退休人员: still members, served by 离退休工作处
)

// Tags the workbench roles are resolved from, beside the role tags that
// open the tag list. They are created last so that the ids of the older
// tags stay what they were.
const (
	TagClassMonitor = "班长"    // class monitors: the data center has no student positions
	TagClassAdvisor = "班主任"   // teachers who advise a class
	TagSupervisor   = "研究生导师" // teachers who supervise postgraduates
	TagRetired      = "离退休人员"
	TagDeptAdmin    = "部门管理员"
)

// Department is one node of the org tree. ID is the WeCom department id;
// Code is the data center's code for the same unit.
type Department struct {
	ID       int
	ParentID int
	Name     string
	Order    int
	Kind     string
	Code     string
}

// Person is one member of the corp.
type Person struct {
	UserID         string
	Name           string
	Categories     []string // first is the main identity
	Departments    []int
	MainDepartment int
	LeaderIn       []int // departments the person heads
	Position       string
	Gender         int // 1 male, 2 female
	Mobile         string
	Email          string
	// Status is WeCom's: 1 active, 2 disabled, 4 not activated, 5 quit.
	Status int
	// WeChatPlugin: uses the platform from personal WeChat through the
	// WeChat plugin rather than the WeCom client.
	WeChatPlugin bool
	// Student identities (students, and the staff member who is also a
	// doctoral student).
	Grade       int
	Major       string
	CounselorID string
	Level       string // postgraduates: master | doctoral
	// People outside the data center (and the alumnus identity of a staff
	// member): what they registered as, and when.
	Org        string
	Registered time.Time
}

// Main is the person's main identity.
func (p *Person) Main() string { return p.Categories[0] }

// Tag is a WeCom tag. Large groups are tagged by department (Parties), as a
// tag holds at most 30,000 users and departments.
type Tag struct {
	ID      int
	Name    string
	Users   []string
	Parties []int
}

// University is the whole demo corp.
type University struct {
	Name        string
	CorpName    string
	Departments []Department
	People      []Person
	Tags        []Tag
}

// Scale sets the size of a generated university.
type Scale struct {
	// Year is the academic year the university is generated in (the
	// freshmen's year of entry); 0 is the current one (AcademicYear).
	Year              int
	Colleges          int
	Offices           int
	TeachingPerCol    int
	Grades            int
	ClassesPerGrade   int
	StudentsPerClass  int
	PostgradsPerCol   int
	StaffPerTeaching  int
	StaffPerOffice    int
	NonStaffedPerUnit int
	Alumni, Examinees int
	Visitors          int
	Retirees          int
	// ClassTags adds one tag per class (class groups), which is most of a
	// real university's 2,400 tags.
	ClassTags bool
	// CoursesPerTeaching adds course-group tags (a teacher and a class) per
	// teaching department.
	CoursesPerTeaching int
}

// Small is the demo university of `make run` and the tests: every kind of
// person and department, a few hundred people.
func Small() Scale {
	return Scale{Colleges: 4, Offices: 6, TeachingPerCol: 2, Grades: 2, ClassesPerGrade: 2, StudentsPerClass: 8,
		PostgradsPerCol: 3, StaffPerTeaching: 3, StaffPerOffice: 2, NonStaffedPerUnit: 1, Alumni: 3, Examinees: 3, Visitors: 2,
		Retirees: 2, ClassTags: true, CoursesPerTeaching: 1}
}

// Full has the figures of the paper: 2,013 departments, about 36,000
// people, about 2,400 tags.
func Full() Scale {
	return Scale{Colleges: 24, Offices: 40, TeachingPerCol: 4, Grades: 4, ClassesPerGrade: 18, StudentsPerClass: 18,
		PostgradsPerCol: 90, StaffPerTeaching: 14, StaffPerOffice: 18, NonStaffedPerUnit: 4, Alumni: 200, Examinees: 150, Visitors: 50,
		Retirees: 120, ClassTags: true, CoursesPerTeaching: 4}
}

var (
	collegeNames = []string{"计算机科学与工程学院", "水产学院", "海洋与气象学院", "食品科技学院", "机械工程学院", "电子与信息工程学院",
		"经济学院", "管理学院", "文学与新闻传播学院", "外国语学院", "数学与计算机学院", "化学与环境学院", "农学院", "滨海农业学院",
		"船舶与海运学院", "法政学院", "体育与休闲学院", "艺术学院", "马克思主义学院", "海洋工程学院", "生物与制药学院",
		"材料科学与工程学院", "建筑工程学院", "医学院"}
	officeNames = []string{"党政办公室", "组织部", "宣传部", "人事处", "教务处", "学生工作处", "研究生院", "科学技术处", "财务处",
		"国有资产管理处", "后勤管理处", "保卫处", "图书馆", "教育信息中心", "国际交流与合作处", "发展规划处", "审计处", "工会",
		"团委", "招生就业处", "基建处", "实验室管理处", "档案馆", "校医院", "继续教育学院", "纪委办公室", "统战部", "离退休工作处",
		"社会服务处", "校友会办公室", "质量监控中心", "网络安全办公室", "采购中心", "资产经营公司", "出版社", "分析测试中心",
		"信息公开办公室", "保密办公室", "新闻中心", "教师发展中心"}
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢")
	given    = []rune("伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏建红宇浩然子轩梓涵欣怡思远俊杰雨桐嘉怡晨曦")
)

// AcademicYear is the year the current academic year began in: it turns
// on Sep 1, China time (the freshmen's year of entry).
func AcademicYear(t time.Time) int {
	t = t.In(time.FixedZone("CST", 8*3600))
	if t.Month() < time.September {
		return t.Year() - 1
	}
	return t.Year()
}

// Generate builds the university deterministically: the same scale always
// gives the same ids, names and numbers (in the same academic year, unless
// Scale.Year fixes it: the freshmen are always this year's).
func Generate(s Scale) *University {
	g := &gen{
		u:   &University{Name: "海滨大学", CorpName: "海滨大学企业微信"},
		rnd: rand.New(rand.NewPCG(2026, 1125)),
	}
	g.build(s)
	return g.u
}

type gen struct {
	u        *University
	rnd      *rand.Rand
	nextTag  int
	mobile   int
	staffNo  int
	tagIndex map[string]int
}

func (g *gen) dept(id, parent int, name, kind string, order int) {
	g.u.Departments = append(g.u.Departments, Department{ID: id, ParentID: parent, Name: name, Order: order, Kind: kind, Code: strconv.Itoa(id)})
}

func (g *gen) name() string {
	n := string(surnames[g.rnd.IntN(len(surnames))]) + string(given[g.rnd.IntN(len(given))])
	if g.rnd.IntN(3) > 0 {
		n += string(given[g.rnd.IntN(len(given))])
	}
	return n
}

func (g *gen) person(userID string, cats []string, depts []int, position string) *Person {
	g.mobile++
	p := Person{
		UserID:         userID,
		Name:           g.name(),
		Categories:     cats,
		Departments:    depts,
		MainDepartment: depts[0],
		Position:       position,
		Gender:         1 + g.rnd.IntN(2),
		Mobile:         fmt.Sprintf("139%08d", g.mobile),
		Status:         1,
	}
	// About 95 % have joined WeCom; the rest were invited and not yet activated.
	if g.rnd.IntN(100) < 5 {
		p.Status = 4
	}
	switch cats[0] {
	case CatUndergrad, CatPostgrad:
		p.Email = userID + "@stu.demo.edu.cn"
	case CatAlumnus, CatExaminee, CatVisitor:
		p.WeChatPlugin = true
	default:
		p.Email = userID + "@demo.edu.cn"
		// Some staff use the platform from personal WeChat too.
		p.WeChatPlugin = g.rnd.IntN(10) == 0
	}
	g.u.People = append(g.u.People, p)
	return &g.u.People[len(g.u.People)-1]
}

func (g *gen) staff(cats []string, depts []int, position string) *Person {
	g.staffNo++
	return g.person(fmt.Sprintf("T%05d", g.staffNo), cats, depts, position)
}

func (g *gen) tag(name string, users []string, parties []int) {
	g.nextTag++
	g.u.Tags = append(g.u.Tags, Tag{ID: g.nextTag, Name: name, Users: users, Parties: parties})
	g.tagIndex[name] = len(g.u.Tags) - 1
}

func (g *gen) addToTag(name, userID string) {
	i := g.tagIndex[name]
	g.u.Tags[i].Users = append(g.u.Tags[i].Users, userID)
}

func (g *gen) build(s Scale) {
	g.tagIndex = map[string]int{}
	g.dept(RootID, 0, g.u.Name, KindRoot, 0)
	g.dept(LeadersDeptID, RootID, "校领导", KindLeaders, 100000)

	// Role tags first, so that their ids are small and stable: workbenches
	// are resolved from them.
	for _, name := range []string{"校领导", "中层干部", "教职工", "非编人员", "辅导员", "本科生", "研究生", "校友", "考生", "访客", "部门管理员"} {
		g.tag(name, nil, nil)
	}

	for i := 0; i < 6; i++ {
		pos := "副校长"
		if i == 0 {
			pos = "校长"
		} else if i == 1 {
			pos = "党委书记"
		}
		p := g.staff([]string{CatLeader, CatStaff}, []int{LeadersDeptID}, pos)
		p.LeaderIn = []int{LeadersDeptID}
		g.addToTag("校领导", p.UserID)
	}

	// Offices: level-1 units 200..
	var officeIDs []int
	for i := 0; i < s.Offices; i++ {
		id := 200 + i
		officeIDs = append(officeIDs, id)
		oname := officeNames[i%len(officeNames)] + suffix(i, len(officeNames))
		g.dept(id, RootID, oname, KindOffice, 90000-i)
		g.tag(oname+"全体", nil, []int{id})
		head := g.staff([]string{CatCadre, CatStaff}, []int{id}, "处长")
		head.LeaderIn = []int{id}
		g.addToTag("中层干部", head.UserID)
		for j := 0; j < s.StaffPerOffice; j++ {
			g.staff([]string{CatStaff}, []int{id}, "科员")
		}
		for j := 0; j < s.NonStaffedPerUnit; j++ {
			p := g.staff([]string{CatNonStaffed}, []int{id}, "聘用人员")
			g.addToTag("非编人员", p.UserID)
		}
	}
	// The information center's head is also the platform's admin in the
	// demo; a university too small to have one gives the role to its last
	// office's head.
	if len(officeIDs) > 0 {
		admin := g.officeNamed("教育信息中心", officeIDs[len(officeIDs)-1])
		for i := range g.u.People {
			if g.u.People[i].MainDepartment == admin && g.u.People[i].Main() == CatCadre {
				g.addToTag(TagDeptAdmin, g.u.People[i].UserID)
			}
		}
	}

	thisYear := s.Year
	if thisYear == 0 {
		thisYear = AcademicYear(time.Now())
	}
	var undergradParties, postgradParties []int
	var collegeStaff []collegeTag
	// Members of the tags created last (see TagClassMonitor).
	var monitors, advisors, supervisors []string
	for c := 0; c < s.Colleges; c++ {
		cid := 1000 + c // colleges 1000..
		cname := collegeNames[c%len(collegeNames)] + suffix(c, len(collegeNames))
		g.dept(cid, RootID, cname, KindCollege, 80000-c)
		dean := g.staff([]string{CatCadre, CatStaff}, []int{cid}, "院长")
		dean.LeaderIn = []int{cid}
		g.addToTag("中层干部", dean.UserID)
		// The college's faculty, listed once they are all generated: a
		// tag of the college department would hold its students too.
		g.tag(cname+"教职工", nil, nil)
		collegeStaff = append(collegeStaff, collegeTag{cid, cname + "教职工"})

		var teachers [][]string
		for t := 0; t < s.TeachingPerCol; t++ {
			tid := cid*100 + t + 1 // 100001..
			tname := fmt.Sprintf("%s第%d系", shortName(cname), t+1)
			g.dept(tid, cid, tname, KindTeaching, 1000-t)
			g.tag(tname+"全体", nil, []int{tid})
			var ts []string
			for j := 0; j < s.StaffPerTeaching; j++ {
				pos := "讲师"
				if j == 0 {
					pos = "系主任"
				}
				p := g.staff([]string{CatStaff}, []int{tid}, pos)
				if j == 0 {
					p.LeaderIn = []int{tid}
				}
				ts = append(ts, p.UserID)
			}
			// The head of a teaching department supervises postgraduates.
			if s.PostgradsPerCol > 0 && len(ts) > 0 {
				supervisors = append(supervisors, ts[0])
			}
			teachers = append(teachers, ts)
		}
		// The college's 党委副书记 (deputy Party secretary, who approves
		// students' longer leave in the service hall) is one of its
		// teachers: the last of its last 系, so the demo keeps its head
		// count.
		if last := len(teachers) - 1; last >= 0 && len(teachers[last]) > 1 {
			deputy := teachers[last][len(teachers[last])-1]
			for i := range g.u.People {
				if g.u.People[i].UserID == deputy {
					g.u.People[i].Position = PositionDeputySecretary
				}
			}
		}
		var classes []int
		// Lecturers (not the heads) advise the college's classes in turn.
		var lecturers []string
		for _, ts := range teachers {
			if len(ts) > 1 {
				lecturers = append(lecturers, ts[1:]...)
			}
		}
		for j := 0; j < s.NonStaffedPerUnit; j++ {
			p := g.staff([]string{CatNonStaffed}, []int{cid}, "实验员")
			g.addToTag("非编人员", p.UserID)
		}

		// One counselor per grade, who is also a teacher of the college.
		for gr := 0; gr < s.Grades; gr++ {
			year := thisYear - gr
			gid := cid*100 + 50 + gr // grade nodes 100050..
			g.dept(gid, cid, fmt.Sprintf("%d级", year), KindGrade, 500-gr)
			// A grade's tag (and 本科生) holds its classes, not the grade
			// department: the grade's counselor is a member of that too,
			// and these are the students' tags (TagRules makes them so).
			gradeTag := fmt.Sprintf("%s%d级学生", shortName(cname), year)
			g.tag(gradeTag, nil, nil)
			counselor := g.staff([]string{CatCounselor, CatStaff}, []int{cid, gid}, "辅导员")
			g.addToTag("辅导员", counselor.UserID)
			for k := 0; k < s.ClassesPerGrade; k++ {
				clid := gid*100 + k + 1 // 10005001..
				clname := fmt.Sprintf("%s%d级%d班", shortName(cname), year%100, k+1)
				g.dept(clid, gid, clname, KindClass, 100-k)
				classes = append(classes, clid)
				undergradParties = append(undergradParties, clid)
				g.u.Tags[g.tagIndex[gradeTag]].Parties = append(g.u.Tags[g.tagIndex[gradeTag]].Parties, clid)
				if len(lecturers) > 0 {
					advisors = append(advisors, lecturers[(len(classes)-1)%len(lecturers)])
				}
				var members []string
				for st := 0; st < s.StudentsPerClass; st++ {
					no := fmt.Sprintf("%d%02d%02d%02d%02d", year, c+1, gr+1, k+1, st+1)
					p := g.person(no, []string{CatUndergrad}, []int{clid}, "")
					p.Grade, p.Major, p.CounselorID = year, shortName(cname)+"专业", counselor.UserID
					// A class monitor (班长) is also the class's student cadre.
					if st == 0 {
						p.Position = "班长"
						monitors = append(monitors, no)
					}
					members = append(members, no)
				}
				if s.ClassTags {
					g.tag(clname, members, nil)
				}
			}
		}
		// Course groups: a teacher and the class they teach.
		for t, ts := range teachers {
			for k := 0; k < s.CoursesPerTeaching && len(classes) > 0 && len(ts) > 0; k++ {
				g.tag(fmt.Sprintf("%s第%d系课程%d", shortName(cname), t+1, k+1), []string{ts[(k+1)%len(ts)]}, []int{classes[(t*s.CoursesPerTeaching+k)%len(classes)]})
			}
		}
		if s.PostgradsPerCol > 0 {
			pid := cid*100 + 90
			g.dept(pid, cid, "研究生", KindPostgrad, 10)
			g.tag(shortName(cname)+"研究生", nil, []int{pid})
			postgradParties = append(postgradParties, pid)
			for st := 0; st < s.PostgradsPerCol; st++ {
				no := fmt.Sprintf("G%d%02d%04d", thisYear-st%3, c+1, st+1)
				p := g.person(no, []string{CatPostgrad}, []int{pid}, "")
				p.Grade, p.Major, p.Level = thisYear-st%3, shortName(cname)+"学术学位", "master"
				// The last third of a college's postgraduates are doctoral students.
				if st >= s.PostgradsPerCol*2/3 {
					p.Level = "doctoral"
				}
			}
		}
	}
	g.u.Tags[g.tagIndex["本科生"]].Parties = undergradParties
	g.u.Tags[g.tagIndex["研究生"]].Parties = postgradParties
	// 教职工 lists people, not departments: a college department also holds its grades' students.
	for _, p := range g.u.People {
		for _, cat := range p.Categories {
			if cat == CatStaff {
				g.addToTag("教职工", p.UserID)
				break
			}
		}
	}
	// A college's 教职工: everyone whose own department is the college or
	// one of its 系 (its dean, teachers, counselors and lab staff).
	parent := map[int]int{}
	for _, d := range g.u.Departments {
		parent[d.ID] = d.ParentID
	}
	for _, ct := range collegeStaff {
		for _, p := range g.u.People {
			if m := p.Main(); m != CatUndergrad && m != CatPostgrad && (p.MainDepartment == ct.college || parent[p.MainDepartment] == ct.college) {
				g.addToTag(ct.name, p.UserID)
			}
		}
	}

	// People outside the data center, who reach the platform through the
	// WeChat plugin and self-registration.
	registered := time.Date(thisYear, 9, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for _, v := range []struct {
		id    int
		name  string
		cat   string
		count int
		tag   string
	}{{3, "校友", CatAlumnus, s.Alumni, "校友"}, {4, "考生", CatExaminee, s.Examinees, "考生"}, {5, "访客", CatVisitor, s.Visitors, "访客"}} {
		g.dept(v.id, RootID, v.name, KindVirtual, 10-v.id)
		for i := 0; i < v.count; i++ {
			p := g.person(fmt.Sprintf("%s%04d", map[string]string{CatAlumnus: "A", CatExaminee: "E", CatVisitor: "V"}[v.cat], i+1), []string{v.cat}, []int{v.id}, "")
			g.addToTag(v.tag, p.UserID)
			p.Org = externalOrg(v.cat, i, s.Colleges)
			p.Registered = registered.Add(time.Duration(v.id)*time.Hour + time.Duration(i)*97*time.Minute)
		}
	}
	// A teacher who graduated here and is studying for a doctorate: several
	// identities, one person.
	if s.Colleges > 0 && s.PostgradsPerCol > 0 {
		for i := range g.u.People {
			p := &g.u.People[i]
			if p.Main() == CatStaff && p.Position == "讲师" {
				p.Categories = append(p.Categories, CatPostgrad, CatAlumnus)
				p.Departments = append(p.Departments, 1000*100+90, 3)
				g.addToTag("校友", p.UserID)
				p.Grade, p.Major, p.Level = thisYear-1, shortName(collegeNames[0])+"学术学位", "doctoral"
				p.Org, p.Registered = fmt.Sprintf("2016届 %s", collegeNames[0]), registered
				break
			}
		}
	}

	// Retirees stay members: 离退休工作处 serves them (or the first office
	// of a university without one).
	if len(officeIDs) > 0 && s.Retirees > 0 {
		home := g.officeNamed("离退休工作处", officeIDs[0])
		g.tag(TagRetired, nil, nil)
		for i := 0; i < s.Retirees; i++ {
			p := g.staff([]string{CatRetired}, []int{home}, "退休教师")
			g.addToTag(TagRetired, p.UserID)
		}
	}
	g.tag(TagClassMonitor, monitors, nil)
	g.tag(TagClassAdvisor, dedupe(advisors), nil)
	g.tag(TagSupervisor, supervisors, nil)
}

// collegeTag is a college's 教职工 tag, filled in once its people exist.
type collegeTag struct {
	college int
	name    string
}

// officeNamed is the id of the office called name, or fallback.
func (g *gen) officeNamed(name string, fallback int) int {
	for _, d := range g.u.Departments {
		if d.Kind == KindOffice && d.Name == name {
			return d.ID
		}
	}
	return fallback
}

// externalOrg is what the i-th person outside the data center registered
// as: alumni their class and college, examinees what they sit for,
// visitors the unit they come from (or that they are a student's parent).
func externalOrg(cat string, i, colleges int) string {
	switch cat {
	case CatAlumnus:
		n := max(1, min(colleges, len(collegeNames)))
		return fmt.Sprintf("%d届 %s", 2010+i%15, collegeNames[i%n])
	case CatExaminee:
		return [...]string{"2027 本科报考", "2027 硕士报考", "2027 本科报考", "2027 博士报考"}[i%4]
	case CatVisitor:
		if i%2 == 1 {
			return "学生家长"
		}
		return [...]string{"来访单位 海滨市教育局", "来访单位 海滨港务集团", "来访单位 南洋海洋研究所"}[(i/2)%3]
	}
	return ""
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// suffix disambiguates repeated names when a scale asks for more units
// than there are names.
func suffix(i, n int) string {
	if i < n {
		return ""
	}
	return strconv.Itoa(i/n + 1)
}

// shortName drops 学院 for class names ("计算机科学与工程24级1班").
func shortName(college string) string {
	r := []rune(college)
	if len(r) > 2 && string(r[len(r)-2:]) == "学院" {
		return string(r[:len(r)-2])
	}
	return college
}
