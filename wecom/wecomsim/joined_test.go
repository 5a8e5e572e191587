package wecomsim_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

// TestPhoneFirstLogin: a member the API created is not activated (status
// 4) and cannot open apps; the phone page lists them, and logging in for
// the first time activates them and hands them the phone.
func TestPhoneFirstLogin(t *testing.T) {
	sim := wecomsim.New(wecomsim.Options{Fixture: &wecomsim.Fixture{}})
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	if err := sim.AdminCreateUser(wecomsim.User{UserID: "new1", Name: "新同学", Department: []int64{1}, Mobile: "13900001234", Status: 4}); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(srv.URL + "/phone")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	if !strings.Contains(body, `data-testid="phone-new-members"`) || !strings.Contains(body, `data-userid="new1"`) {
		t.Fatalf("the phone page does not offer new1's first login:\n%s", body)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/phone/login", strings.NewReader(url.Values{"userid": {"new1"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "/phone/u/new1") {
		t.Fatalf("first login = %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	for _, u := range sim.Snapshot().Users {
		if u.UserID == "new1" && u.Status != 1 {
			t.Errorf("new1 has status %d after logging in, want 1", u.Status)
		}
	}
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/phone/login", strings.NewReader(url.Values{"userid": {"nobody"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res, err = cl.Do(req); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("first login of an unknown member = %v %v", res.StatusCode, err)
	}
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}
