package handler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/datamod"
	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/internal/apptest"
	"github.com/wecomapp/wecomapp/store"
)

// The data modules' pages over the whole platform with the demo's shared
// database: a person's own rows (compared with the shared database's),
// nobody else's whatever the URL or form says, a counselor's students
// through the picker, salaries masked but on their owner's detail page,
// and a shared database gone costing only its modules.

// sharedRows reads one column per row of the shared database.
func sharedRows(t *testing.T, e *apptest.Env, query string, args ...any) [][]string {
	t.Helper()
	rows, err := e.Shared.QueryxContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("shared database: %s: %v", query, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.SliceScan()
		if err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func column(rows [][]string, i int) map[string]bool {
	out := map[string]bool{}
	for _, r := range rows {
		out[r[i]] = true
	}
	return out
}

// senior is an undergraduate past their first year: they have scores.
func senior(p *demo.Person) bool {
	return p.Main() == demo.CatUndergrad && p.Status == 1 && p.Grade < demo.AcademicYear(time.Now()) && p.Position == ""
}

// dataTile is a module's tile on a workbench page.
func dataTile(t *testing.T, page, module string) string {
	t.Helper()
	i := strings.Index(page, `data-module="`+module+`"`)
	if i < 0 {
		t.Fatalf("the workbench has no %s tile", module)
	}
	j := strings.Index(page[i:], "</a>")
	return page[strings.LastIndex(page[:i], "<a ") : i+j]
}

var (
	rowKeyRe = regexp.MustCompile(`data-testid="data-row" data-key="([^"]+)"`)
	slotRe   = regexp.MustCompile(`data-testid="slot"><b>([^<]+)</b>`)
	weekRe   = regexp.MustCompile(`data-testid="week-number">第 (\d+) 教学周`)
)

func get(t *testing.T, e *apptest.Env, c *http.Client, path string) (int, string) {
	t.Helper()
	resp := apptest.Get(t, c, e.URL+path, apptest.UserAgentWeCom)
	return resp.StatusCode, body(t, resp)
}

func TestAStudentSeesTheirOwnDataAndNobodyElses(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Data: true})
	st := e.Person(t, senior)
	other := e.Person(t, func(p *demo.Person) bool { return senior(p) && p.UserID != st.UserID && p.Major != st.Major })
	mine := sharedRows(t, e, "SELECT id, course_name, score FROM scores WHERE person_id = ? ORDER BY semester DESC, course_code", st.UserID)
	theirs := sharedRows(t, e, "SELECT id, course_name, score FROM scores WHERE person_id = ?", other.UserID)
	if len(mine) == 0 || len(theirs) == 0 {
		t.Fatalf("no scores for %s (%d) or %s (%d) in the shared database", st.UserID, len(mine), other.UserID, len(theirs))
	}
	// foreign are the other student's values of a column that are not
	// also ours (classmates share courses).
	foreign := func(query string) []string {
		ours := column(sharedRows(t, e, query, st.UserID), 0)
		var out []string
		for v := range column(sharedRows(t, e, query, other.UserID), 0) {
			if !ours[v] {
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			t.Fatalf("%s and %s have the same %q: pick students further apart", st.UserID, other.UserID, query)
		}
		return out
	}
	foreignScores := foreign("SELECT course_name FROM scores WHERE person_id = ?")
	foreignCourses := foreign("SELECT course_name FROM course_schedule WHERE person_id = ?")
	leaks := func(what, page string, foreign []string) {
		t.Helper()
		for _, c := range foreign {
			if strings.Contains(page, c) {
				t.Errorf("%s shows %s's course %s", what, other.UserID, c)
			}
		}
	}
	c := e.Browser(t)
	e.SignIn(t, c, st.UserID, "")
	_, home := get(t, e, c, "/app/")
	for _, m := range []string{"scores", "courses", "campus_card"} {
		if tile := dataTile(t, home, m); !strings.Contains(tile, `href="/app/m/`+m+`"`) || strings.Contains(tile, "即将上线") {
			t.Errorf("the %s tile does not open its live page: %s", m, tile)
		}
	}
	// The campus card tile shows the balance after the latest transaction.
	last := sharedRows(t, e, "SELECT balance FROM card_transactions WHERE person_id = ? ORDER BY occurred_at DESC LIMIT 1", st.UserID)
	if len(last) == 0 {
		t.Fatalf("%s has no card transactions", st.UserID)
	}
	balance := datamod.FormatValue(last[0][0], datamod.Money, 0)
	if tile := dataTile(t, home, "campus_card"); !strings.Contains(tile, `data-testid="figure">余额 `+balance+`<`) {
		t.Errorf("campus card tile lacks 余额 %s: %s", balance, tile)
	}

	// Scores: every row of the first page is ours, in the definition's order.
	code, page := get(t, e, c, "/app/m/scores")
	if code != http.StatusOK {
		t.Fatalf("/app/m/scores: %d\n%s", code, page)
	}
	keys := rowKeyRe.FindAllStringSubmatch(page, -1)
	if want := min(len(mine), datamod.DefaultPageSize); len(keys) != want {
		t.Errorf("scores list: %d rows, want %d", len(keys), want)
	}
	for i, k := range keys {
		if i < len(mine) && k[1] != mine[i][0] {
			t.Errorf("row %d is %s, want %s", i, k[1], mine[i][0])
			break
		}
	}
	for _, s := range []string{"平均学分绩点", "已修学分", mine[0][1]} {
		if !strings.Contains(page, s) {
			t.Errorf("scores page lacks %q", s)
		}
	}
	leaks("the scores list", page, foreignScores)
	// A semester filter, chosen from our own semesters.
	sems := sharedRows(t, e, "SELECT DISTINCT semester FROM scores WHERE person_id = ?", st.UserID)
	code, page = get(t, e, c, "/app/m/scores?f_semester="+url.QueryEscape(sems[0][0]))
	inSem := sharedRows(t, e, "SELECT id FROM scores WHERE person_id = ? AND semester = ?", st.UserID, sems[0][0])
	if n := len(rowKeyRe.FindAllStringSubmatch(page, -1)); code != http.StatusOK || n != min(len(inSem), datamod.DefaultPageSize) {
		t.Errorf("filtered by %s: %d, %d rows; want %d", sems[0][0], code, n, len(inSem))
	}

	// Our own row in full.
	code, page = get(t, e, c, "/app/m/scores/r/"+mine[0][0])
	if code != http.StatusOK || !strings.Contains(page, mine[0][1]) || !strings.Contains(page, "课程号") {
		t.Errorf("own score row: %d\n%s", code, page)
	}

	// Another student's rows, however asked: the same 404 as a row that
	// does not exist, and none of their courses anywhere.
	_, missing := get(t, e, c, "/app/m/scores/r/999999999")
	for _, path := range []string{
		"/app/m/scores/r/" + theirs[0][0],
		"/app/m/scores/r/" + theirs[0][0] + "?student=" + other.UserID,
		"/app/m/scores?student=" + other.UserID,
		"/app/m/scores/r/" + url.PathEscape(theirs[0][0]+"' OR '1'='1"),
		"/app/m/campus_card?student=" + other.UserID,
	} {
		code, page := get(t, e, c, path)
		if code != http.StatusNotFound || !strings.Contains(page, `data-testid="app-error" data-status="404"`) {
			t.Errorf("%s: %d, want the 404 page", path, code)
		}
		leaks(path, page, foreignScores)
		if strings.Contains(path, "/r/") && page != missing {
			t.Errorf("%s answers differently from a row that does not exist", path)
		}
	}
	// Form fields are only filters over our own rows.
	for _, q := range []string{
		"f_course_name=" + url.QueryEscape(foreignScores[0]),
		"f_course_name=" + url.QueryEscape("%' OR 1=1 --"),
		"f_semester=" + url.QueryEscape("x' OR person_id <> '"),
		"person_id=" + other.UserID + "&subject=" + other.UserID,
	} {
		code, page := get(t, e, c, "/app/m/scores?"+q)
		if code != http.StatusOK {
			t.Errorf("scores?%s: %d", q, code)
		}
		// The form echoes what was asked; the rows are what was found.
		rows := page[strings.Index(page, `data-testid="data-rows"`):]
		leaks("scores?"+q, rows, foreignScores)
		for _, k := range rowKeyRe.FindAllStringSubmatch(page, -1) {
			if !column(mine, 0)[k[1]] {
				t.Errorf("scores?%s shows row %s, not ours", q, k[1])
			}
		}
	}

	// The timetable: this week's courses of our class, by weekday and period.
	code, page = get(t, e, c, "/app/m/courses")
	if code != http.StatusOK || !strings.Contains(page, `data-testid="timetable"`) {
		t.Fatalf("/app/m/courses: %d, no timetable\n%s", code, page)
	}
	wm := weekRe.FindStringSubmatch(page)
	if wm == nil {
		t.Fatalf("the timetable names no teaching week")
	}
	var week int
	fmt.Sscan(wm[1], &week)
	cur := sharedRows(t, e, "SELECT semester FROM semesters WHERE start_date <= ? ORDER BY start_date DESC LIMIT 1", time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02"))
	var want []string
	for _, r := range sharedRows(t, e, "SELECT course_name, weeks FROM course_schedule WHERE person_id = ? AND semester = ?", st.UserID, cur[0][0]) {
		if datamod.InWeeks(r[1], week) {
			want = append(want, r[0])
		}
	}
	slots := slotRe.FindAllStringSubmatch(page, -1)
	if len(slots) != len(want) {
		t.Errorf("week %d: %d courses in the timetable, the shared database has %d", week, len(slots), len(want))
	}
	for _, s := range slots {
		if !strings.Contains(strings.Join(want, "|"), s[1]) {
			t.Errorf("timetable shows %s, not ours this week", s[1])
		}
	}
	leaks("the timetable", page, foreignCourses)

	// The campus card's page: the balance on top, our transactions.
	code, page = get(t, e, c, "/app/m/campus_card")
	if code != http.StatusOK || !strings.Contains(page, "当前余额") || !strings.Contains(page, balance) {
		t.Errorf("/app/m/campus_card: %d, want the balance %s\n%s", code, balance, page)
	}
	card := sharedRows(t, e, "SELECT id FROM card_transactions WHERE person_id = ?", st.UserID)
	if n := len(rowKeyRe.FindAllStringSubmatch(page, -1)); n != min(len(card), 30) {
		t.Errorf("campus card: %d rows, want %d", n, len(card))
	}
	// A module not on the workbench is not found, data module or not.
	if code, _ := get(t, e, c, "/app/m/salary"); code != http.StatusNotFound {
		t.Errorf("a student's /app/m/salary: %d, want 404", code)
	}
}

func TestACounselorSeesTheirStudentsScoresOnly(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Data: true})
	ctx := context.Background()
	var coun, student, stranger string
	for _, p := range e.Uni.People {
		if !counselor(&p) {
			continue
		}
		sts, err := e.Data.Students(ctx, datamod.Viewer{UserID: p.UserID})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sts {
			if len(sharedRows(t, e, "SELECT id FROM scores WHERE person_id = ? LIMIT 1", s[0])) == 0 {
				continue
			}
			if coun == "" {
				coun, student = p.UserID, s[0]
			} else if p.UserID != coun && stranger == "" {
				stranger = s[0]
			}
			break
		}
	}
	if coun == "" || stranger == "" {
		t.Fatal("no two counselors with students who have scores")
	}
	hers := sharedRows(t, e, "SELECT id, course_name FROM scores WHERE person_id = ?", student)
	strangers := sharedRows(t, e, "SELECT id, course_name FROM scores WHERE person_id = ?", stranger)
	c := e.Browser(t)
	e.SignIn(t, c, coun, "")
	code, page := get(t, e, c, "/app/m/scores")
	if code != http.StatusOK || !strings.Contains(page, `data-testid="student-picker"`) || !strings.Contains(page, `value="`+student+`"`) {
		t.Fatalf("counselor's scores page: %d, no picker with %s\n%s", code, student, page)
	}
	if strings.Contains(page, `value="`+stranger+`"`) {
		t.Errorf("the picker offers %s, another counselor's student", stranger)
	}
	code, page = get(t, e, c, "/app/m/scores?student="+student)
	if code != http.StatusOK || !strings.Contains(page, hers[0][1]) || !strings.Contains(page, `data-testid="data-subject"`) {
		t.Errorf("their student's scores: %d\n%s", code, page)
	}
	if code, page := get(t, e, c, "/app/m/scores/r/"+hers[0][0]+"?student="+student); code != http.StatusOK || !strings.Contains(page, hers[0][1]) {
		t.Errorf("their student's score row: %d", code)
	}
	for _, path := range []string{
		"/app/m/scores?student=" + stranger,
		"/app/m/scores/r/" + strangers[0][0] + "?student=" + stranger,
		"/app/m/scores/r/" + strangers[0][0] + "?student=" + student, // a row of someone else under their own student's name
		"/app/m/salary?student=" + student,                           // salaries are nobody's but their owner's
	} {
		if code, page := get(t, e, c, path); code != http.StatusNotFound || strings.Contains(page, `data-testid="data-row"`) || strings.Contains(page, `data-testid="data-detail"`) {
			t.Errorf("%s: %d, want the 404 page and no rows", path, code)
		}
	}
}

func TestSalariesAreMaskedButOnTheirOwnersDetail(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Data: true})
	ctx := context.Background()
	teacher := e.Person(t, func(p *demo.Person) bool {
		if p.Main() != demo.CatStaff || p.Status != 1 || p.UserID == e.SuperAdmin {
			return false
		}
		_, err := e.Workbench.Module(ctx, p.UserID, "", "salary")
		return err == nil
	})
	slips := sharedRows(t, e, "SELECT id, net_pay, id_number FROM salary_slips WHERE person_id = ? ORDER BY month DESC", teacher.UserID)
	others := sharedRows(t, e, "SELECT id FROM salary_slips WHERE person_id <> ? LIMIT 1", teacher.UserID)
	if len(slips) == 0 || len(others) == 0 {
		t.Fatal("no salary slips in the shared database")
	}
	net := datamod.FormatValue(slips[0][1], datamod.Money, 0)
	c := e.Browser(t)
	e.SignIn(t, c, teacher.UserID, "")
	code, page := get(t, e, c, "/app/m/salary")
	if code == http.StatusNotFound {
		t.Fatalf("%s's workbench has no salary module", teacher.UserID)
	}
	if code != http.StatusOK || !strings.Contains(page, `data-testid="masked"`) || strings.Contains(page, net) {
		t.Errorf("salary list: %d, want amounts masked (not %s)\n%s", code, net, page)
	}
	code, page = get(t, e, c, "/app/m/salary/r/"+slips[0][0])
	if code != http.StatusOK || !strings.Contains(page, net) || !strings.Contains(page, slips[0][2]) {
		t.Errorf("own salary slip: %d, want %s and the ID number in full\n%s", code, net, page)
	}
	if code, _ := get(t, e, c, "/app/m/salary/r/"+others[0][0]); code != http.StatusNotFound {
		t.Errorf("someone else's salary slip: %d, want 404", code)
	}

	// An admin previewing the teacher's salaries sees them masked, and the
	// view is audited.
	ac := e.Browser(t)
	e.SignIn(t, ac, e.SuperAdmin, "")
	code, page = get(t, e, ac, "/admin/data/salary/preview?user="+teacher.UserID)
	if code != http.StatusOK || !strings.Contains(page, `data-testid="data-preview"`) || !strings.Contains(page, `data-testid="masked"`) {
		t.Fatalf("preview: %d\n%s", code, page)
	}
	if strings.Contains(page, net) || strings.Contains(page, slips[0][2]) || strings.Contains(page, "/app/m/salary/r/") {
		t.Errorf("the preview shows a salary, an ID number or a link to the slip in full")
	}
	rows, err := e.DB.ListAudit(ctx, store.AuditFilter{Action: "data.preview", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Actor != e.SuperAdmin || rows[0].Object != "person/"+teacher.UserID || !strings.Contains(rows[0].After, "salary") {
		t.Errorf("preview audit: %+v", rows)
	}
}

func TestWithTheSharedDatabaseDownTheWorkbenchStillRenders(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Data: true})
	st := e.Person(t, senior)
	c := e.Browser(t)
	e.SignIn(t, c, st.UserID, "")
	_, home := get(t, e, c, "/app/")
	if strings.Contains(dataTile(t, home, "campus_card"), "暂时无法使用") {
		t.Fatal("the campus card tile is unavailable before the shared database stops")
	}
	e.StopData(t)
	code, home := get(t, e, c, "/app/")
	if code != http.StatusOK {
		t.Fatalf("workbench with the shared database down: %d", code)
	}
	for _, m := range []string{"scores", "campus_card"} {
		if tile := dataTile(t, home, m); !strings.Contains(tile, `data-testid="figure-unavailable">暂时无法使用<`) {
			t.Errorf("the %s tile does not say 暂时无法使用: %s", m, tile)
		}
	}
	// The other tiles are as they were.
	tiles := 0
	for _, m := range regexp.MustCompile(`data-module="([a-z_]+)"`).FindAllStringSubmatch(home, -1) {
		switch m[1] {
		case "courses", "exams", "scores", "library_loans", "network_fee", "campus_card", "salary", "research":
			continue
		}
		tiles++
		if tile := dataTile(t, home, m[1]); strings.Contains(tile, "暂时无法使用") {
			t.Errorf("the %s tile suffers too: %s", m[1], tile)
		}
	}
	if tiles == 0 {
		t.Error("no other tiles on the workbench")
	}
	for _, path := range []string{"/app/m/scores", "/app/m/courses", "/app/m/campus_card", "/app/m/scores/r/1"} {
		code, page := get(t, e, c, path)
		if code != http.StatusServiceUnavailable || !strings.Contains(page, "暂时无法使用") || !strings.Contains(page, "数据源暂时无法访问，请稍后再试") {
			t.Errorf("%s: %d, want 503 saying 暂时无法使用\n%s", path, code, page)
		}
	}
}

func TestTheConsoleEditsADefinitionWithProblemsShownAndAudited(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Data: true})
	ctx := context.Background()
	ac := e.Browser(t)
	e.SignIn(t, ac, e.SuperAdmin, "")
	code, page := get(t, e, ac, "/admin/data")
	if code != http.StatusOK || strings.Count(page, `data-testid="definition"`) != 8 {
		t.Fatalf("/admin/data: %d, want the 8 shipped definitions\n%s", code, page)
	}
	code, page = get(t, e, ac, "/admin/data/network_fee?format=json")
	if code != http.StatusOK || !strings.Contains(page, "&#34;source&#34;: &#34;network_accounts&#34;") {
		t.Fatalf("network_fee as JSON: %d\n%s", code, page)
	}
	def, err := e.Data.Definition(ctx, "network_fee")
	if err != nil {
		t.Fatal(err)
	}
	yamlText := func(title, extraField string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "key: network_fee\ntitle: %s\nsource: %s\nperson: %s\nrow_key: %s\nfields:\n", title, def.Source, def.Person, def.RowKey)
		for _, f := range def.Fields {
			fmt.Fprintf(&b, "  - {column: %s, label: %s, format: %q, list: %v}\n", f.Column, f.Label, f.Format, f.List)
		}
		b.WriteString(extraField)
		return b.String()
	}
	// A column the shared table lacks: refused, the problem named.
	resp := post(t, ac, e.URL+"/admin/data/network_fee", url.Values{"definition": {yamlText("网费", "  - {column: no_such_column, label: 幽灵}\n")}})
	page = body(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-testid="problem"`) || !strings.Contains(page, "no_such_column") {
		t.Errorf("bad column: %d\n%s", resp.StatusCode, page)
	}
	// A misspelt key is a mistake, not a field to drop.
	resp = post(t, ac, e.URL+"/admin/data/network_fee", url.Values{"definition": {yamlText("网费", "") + "titel: x\n"}})
	if page = body(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "titel") {
		t.Errorf("unknown key: %d\n%s", resp.StatusCode, page)
	}
	if got, _ := e.Data.Definition(ctx, "network_fee"); got.Title != def.Title {
		t.Errorf("a refused save changed the title to %q", got.Title)
	}
	resp = post(t, ac, e.URL+"/admin/data/network_fee", url.Values{"definition": {yamlText("校园网费", "")}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good save: %d\n%s", resp.StatusCode, body(t, resp))
	}
	resp.Body.Close()
	if got, _ := e.Data.Definition(ctx, "network_fee"); got.Title != "校园网费" {
		t.Errorf("saved title %q", got.Title)
	}
	rows, err := e.DB.ListAudit(ctx, store.AuditFilter{Action: "data.definition.save", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Object != "data_module/network_fee" || !strings.Contains(rows[0].Before, def.Title) || !strings.Contains(rows[0].After, "校园网费") {
		t.Errorf("save audit: %+v", rows)
	}

	// A department admin sees the list but may not edit or preview.
	dept := e.Person(t, func(p *demo.Person) bool {
		return p.Main() == demo.CatStaff && p.Status == 1 && p.UserID != e.SuperAdmin
	})
	if err := e.Admins.Grant(ctx, store.Actor{UserID: e.SuperAdmin}, auth.Grant{UserID: dept.UserID, Role: auth.AdminDept, Depts: []string{"1000"}}); err != nil {
		t.Fatal(err)
	}
	dc := e.Browser(t)
	e.SignIn(t, dc, dept.UserID, "")
	if code, page := get(t, e, dc, "/admin/data"); code != http.StatusOK || strings.Contains(page, `data-testid="edit"`) {
		t.Errorf("dept admin's list: %d, with edit links: %v", code, strings.Contains(page, `data-testid="edit"`))
	}
	for _, path := range []string{"/admin/data/scores", "/admin/data/scores/preview?user=" + dept.UserID} {
		if code, _ := get(t, e, dc, path); code != http.StatusForbidden {
			t.Errorf("dept admin %s: %d, want 403", path, code)
		}
	}
}
