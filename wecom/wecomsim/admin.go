package wecomsim

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// The admin API stands in for what happens outside the API: an admin
// editing contacts in the WeCom console, a member editing their profile,
// and a tester inspecting or breaking the simulator. Contacts edits made
// here send change_contact to the contacts-sync receiver, like console
// edits do. Every route is also an exported Go method.
//
// Every POST must be sent with Content-Type: application/json (415
// otherwise) and cross-origin browser requests are refused (403), so no
// web page can drive it (guard.go).
//
// Routes (JSON bodies and answers), under AdminPrefix (/sim/api/):
//
//	POST   reset                         Reset
//	GET    snapshot                      Snapshot (a Fixture)
//	GET    calls[?path=]                 {"calls":[Call…],"counts":{path:{errcode:n}}}
//	GET    changes                       [Change…]
//	GET    deliveries                    [Delivery…]
//	POST   flush {"timeout_ms"}          WaitJobs (runs jobs to the end) then Flush (default 10 s)
//	GET    faults                        [Fault…]
//	POST   faults Fault                  AddFault → {"id"}
//	DELETE faults                        ClearFaults
//	DELETE faults/{id}                   RemoveFault
//	POST   limits {"path","per_minute","per_hour"}   SetLimit
//	POST   tokens/expire {"access_token"}            ExpireToken; empty: ExpireAllTokens
//	POST   clock/advance {"seconds"}     Advance
//	POST   jobs/pause {"paused"}         PauseJobs
//	POST   contact-callback Receiver     SetContactCallback (403 for a URL not configured)
//	POST   contacts/user/create|update|delete           WeCom bodies ({"userid"} for delete)
//	POST   contacts/department/create|update|delete     ({"id"} for delete)
//	POST   contacts/tag/create|update|delete|addtagusers|deltagusers  ({"tagid"} for delete)
//	POST   jssdk/verify JSConfig         VerifyJSSignature → {"errcode","errmsg"} (jsapi.go)
//	GET    workbench?agentid=&userid=    WorkbenchTile (workbench.go)
//	GET    appchats[?userid=]            {"chats":[AppChatSummary…]}; appchat?chatid= AppChat (appchat.go)
//	POST   checkin [CheckinRecord…]      AddCheckin → {"errcode","errmsg"} (checkin.go)
//	GET    checkin?userid=&start=&end=   Checkins (RFC 3339 or unix seconds)
//	GET    inbox?userid=                 {"userid","items":[InboxItem…]} newest first (inbox.go)
//	GET    messages/drops                [Drop…] per-member limit drops
//	POST   cards/press {"userid","msgid","key","selected"}   PressCardButton
//	POST   members/text {"userid","agentid","content"}       SendText
//	POST   members/enter {"userid","agentid"}                EnterApp
//	POST   oauth/code OAuthLogin         IssueOAuthCode → {"code"} (oauth.go)
//
// contacts/* answer WeCom-shaped {"errcode","errmsg",…}; errmsg carries the
// rule that fired. user/update also accepts the simulator-only fields
// status (1/2/4/5), wechat_plugin and openid.

func (s *Sim) adminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	p := "/sim/api/"
	mux.HandleFunc("POST "+p+"reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		writeJSON(w, obj{"ok": true})
	})
	mux.HandleFunc("GET "+p+"snapshot", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.Snapshot())
	})
	mux.HandleFunc("GET "+p+"calls", func(w http.ResponseWriter, r *http.Request) {
		calls := s.Calls(r.URL.Query().Get("path"))
		if calls == nil {
			calls = []Call{}
		}
		counts := map[string]map[string]int{}
		for path, m := range s.CallCounts() {
			c := map[string]int{}
			for code, n := range m {
				c[strconv.Itoa(code)] = n
			}
			counts[path] = c
		}
		writeJSON(w, obj{"calls": calls, "counts": counts})
	})
	mux.HandleFunc("GET "+p+"changes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, orEmpty(s.Changes()))
	})
	mux.HandleFunc("GET "+p+"deliveries", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, orEmpty(s.Deliveries()))
	})
	mux.HandleFunc("POST "+p+"flush", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			TimeoutMS int `json:"timeout_ms"`
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		if req.TimeoutMS <= 0 {
			req.TimeoutMS = 10000
		}
		ctx, cancel := context.WithTimeout(r.Context(), time.Duration(req.TimeoutMS)*time.Millisecond)
		defer cancel()
		err := s.WaitJobs(ctx)
		if err == nil {
			err = s.Flush(ctx)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusGatewayTimeout)
			return
		}
		writeJSON(w, obj{"ok": true})
	})
	mux.HandleFunc("GET "+p+"faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.Faults())
	})
	mux.HandleFunc("POST "+p+"faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if !decodeAdmin(w, r, &f) {
			return
		}
		writeJSON(w, obj{"id": s.AddFault(f)})
	})
	mux.HandleFunc("DELETE "+p+"faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		writeJSON(w, obj{"ok": true})
	})
	mux.HandleFunc("DELETE "+p+"faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || !s.RemoveFault(id) {
			http.Error(w, "no such fault", http.StatusNotFound)
			return
		}
		writeJSON(w, obj{"ok": true})
	})
	mux.HandleFunc("POST "+p+"limits", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Path string `json:"path"`
			Limit
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		if req.Path == "" {
			http.Error(w, "path is required", http.StatusBadRequest)
			return
		}
		s.SetLimit(req.Path, req.Limit)
		writeJSON(w, obj{"ok": true})
	})
	mux.HandleFunc("POST "+p+"tokens/expire", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			AccessToken string `json:"access_token"`
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		if req.AccessToken == "" {
			s.ExpireAllTokens()
		} else if !s.ExpireToken(req.AccessToken) {
			http.Error(w, "unknown access_token", http.StatusNotFound)
			return
		}
		writeJSON(w, obj{"ok": true})
	})
	mux.HandleFunc("POST "+p+"clock/advance", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Seconds float64 `json:"seconds"`
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		s.Advance(time.Duration(req.Seconds * float64(time.Second)))
		writeJSON(w, obj{"now": s.Now()})
	})
	mux.HandleFunc("POST "+p+"jobs/pause", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Paused bool `json:"paused"`
		}
		if !decodeAdmin(w, r, &req) {
			return
		}
		s.PauseJobs(req.Paused)
		writeJSON(w, obj{"ok": true})
	})
	mux.HandleFunc("POST "+p+"contact-callback", func(w http.ResponseWriter, r *http.Request) {
		var req Receiver
		if !decodeAdmin(w, r, &req) {
			return
		}
		if err := s.SetContactCallback(req); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		writeJSON(w, obj{"ok": true})
	})

	contacts := map[string]func(f fields) (obj, error){
		"user/create": func(f fields) (obj, error) { return obj{"errmsg": "created"}, s.createUser(adminActor, f) },
		"user/update": func(f fields) (obj, error) { return obj{"errmsg": "updated"}, s.updateUser(adminActor, f) },
		"user/delete": func(f fields) (obj, error) {
			id, _, err := f.str("userid")
			if err != nil {
				return nil, err
			}
			return obj{"errmsg": "deleted"}, s.deleteUser(adminActor, id)
		},
		"department/create": func(f fields) (obj, error) {
			id, err := s.createDepartment(adminActor, f)
			return obj{"errmsg": "created", "id": id}, err
		},
		"department/update": func(f fields) (obj, error) {
			return obj{"errmsg": "updated"}, s.updateDepartment(adminActor, f)
		},
		"department/delete": func(f fields) (obj, error) {
			id, _, err := f.int64("id")
			if err != nil {
				return nil, err
			}
			return obj{"errmsg": "deleted"}, s.deleteDepartment(adminActor, id)
		},
		"tag/create": func(f fields) (obj, error) {
			id, err := s.createTag(adminActor, f)
			return obj{"errmsg": "created", "tagid": id}, err
		},
		"tag/update": func(f fields) (obj, error) { return obj{"errmsg": "updated"}, s.updateTag(adminActor, f) },
		"tag/delete": func(f fields) (obj, error) {
			id, _, err := f.int64("tagid")
			if err != nil {
				return nil, err
			}
			return obj{"errmsg": "deleted"}, s.deleteTag(adminActor, id)
		},
		"tag/addtagusers": func(f fields) (obj, error) { return s.changeTagMembers(adminActor, f, true) },
		"tag/deltagusers": func(f fields) (obj, error) { return s.changeTagMembers(adminActor, f, false) },
	}
	for name, fn := range contacts {
		mux.HandleFunc("POST "+p+"contacts/"+name, func(w http.ResponseWriter, r *http.Request) {
			c := &call{r: r}
			var body json.RawMessage
			if !decodeAdmin(w, r, &body) {
				return
			}
			c.body = body
			f, err := c.fields()
			var resp obj
			if err == nil {
				s.mu.Lock()
				resp, err = fn(f)
				s.mu.Unlock()
			}
			if err != nil {
				e := asError(err)
				writeJSON(w, obj{"errcode": e.Code, "errmsg": errText(e.Code) + ": " + e.Detail})
				return
			}
			resp["errcode"] = 0
			if _, ok := resp["errmsg"]; !ok {
				resp["errmsg"] = "ok"
			}
			writeJSON(w, resp)
		})
	}
	s.adminJSAPI(mux)
	s.adminWorkbench(mux)
	s.adminAppChats(mux)
	s.adminCheckin(mux)
	s.inboxAdminRoutes(mux, p)
	return mux
}

// decodeAdmin reads an optional JSON body into v; a malformed one is 400.
func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil && err.Error() != "EOF" {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// admin runs fn on the state as the admin console.
func (s *Sim) admin(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn()
}

// AdminCreateUser adds a member as an admin would in the console (same
// rules and errcodes as user/create; sends create_user). The
// simulator-only fields WeChatPlugin, OpenID and Status are honoured.
func (s *Sim) AdminCreateUser(u User) error {
	f := fieldsFrom(u)
	return s.admin(func() error { return s.createUser(adminActor, f) })
}

// AdminUpdateUser changes a member as an admin (or the member in their
// profile) would: changes holds user/update fields by JSON name, written
// when present — plus status, wechat_plugin and openid. Sends update_user.
func (s *Sim) AdminUpdateUser(userid string, changes map[string]any) error {
	f := fieldsFrom(changes)
	f["userid"] = rawJSON(userid)
	return s.admin(func() error { return s.updateUser(adminActor, f) })
}

// AdminDeleteUser removes a member (sends delete_user).
func (s *Sim) AdminDeleteUser(userid string) error {
	return s.admin(func() error { return s.deleteUser(adminActor, userid) })
}

// AdminCreateDepartment adds a department (ID 0 = next free id) and
// returns its id (sends create_party).
func (s *Sim) AdminCreateDepartment(d Department) (int64, error) {
	f := fieldsFrom(d)
	if d.ID == 0 {
		delete(f, "id")
	}
	var id int64
	err := s.admin(func() (err error) { id, err = s.createDepartment(adminActor, f); return err })
	return id, err
}

// AdminUpdateDepartment changes a department: changes holds
// department/update fields (name, name_en, parentid, order). Sends
// update_party when the name or the parent changed.
func (s *Sim) AdminUpdateDepartment(id int64, changes map[string]any) error {
	f := fieldsFrom(changes)
	f["id"] = rawJSON(id)
	return s.admin(func() error { return s.updateDepartment(adminActor, f) })
}

// AdminDeleteDepartment removes an empty department (sends delete_party).
func (s *Sim) AdminDeleteDepartment(id int64) error {
	return s.admin(func() error { return s.deleteDepartment(adminActor, id) })
}

// AdminCreateTag creates a tag owned by the admin console (tagID 0 = next
// free id) and returns its id.
func (s *Sim) AdminCreateTag(name string, tagID int64) (int64, error) {
	f := fields{"tagname": rawJSON(name)}
	if tagID != 0 {
		f["tagid"] = rawJSON(tagID)
	}
	var id int64
	err := s.admin(func() (err error) { id, err = s.createTag(adminActor, f); return err })
	return id, err
}

// AdminAddTagUsers adds members and departments to a tag (sends
// update_tag). Invalid entries are skipped as the API does; all invalid is
// 40070.
func (s *Sim) AdminAddTagUsers(tagID int64, users []string, parties []int64) error {
	f := fields{"tagid": rawJSON(tagID), "userlist": rawJSON(orEmpty(users)), "partylist": rawJSON(orEmpty(parties))}
	return s.admin(func() error { _, err := s.changeTagMembers(adminActor, f, true); return err })
}

// AdminDelTagUsers removes members and departments from a tag (sends
// update_tag).
func (s *Sim) AdminDelTagUsers(tagID int64, users []string, parties []int64) error {
	f := fields{"tagid": rawJSON(tagID), "userlist": rawJSON(orEmpty(users)), "partylist": rawJSON(orEmpty(parties))}
	return s.admin(func() error { _, err := s.changeTagMembers(adminActor, f, false); return err })
}
