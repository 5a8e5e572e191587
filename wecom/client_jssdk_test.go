package wecom_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/wecom/wecomsim"
)

func TestJSSDKSignatures(t *testing.T) {
	e := newEnv(t)
	hall := e.hall(t)
	const page = "https://h5.example.edu.cn/hall/index?x=1#/home"
	hex40 := regexp.MustCompile(`^[0-9a-f]{40}$`)
	for i := 0; i < 3; i++ {
		s, err := hall.ConfigSignature(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		if s.CorpID != e.sim.CorpID() || s.AgentID != 0 || s.Timestamp != e.clock.Now().Unix() || len(s.NonceStr) != 16 || !hex40.MatchString(s.Signature) {
			t.Errorf("config signature = %+v", s)
		}
		if err := e.sim.VerifyJSSignature(wecomsim.JSConfig{CorpID: s.CorpID, Timestamp: s.Timestamp, NonceStr: s.NonceStr, Signature: s.Signature, URL: page}); err != nil {
			t.Errorf("simulator rejects wx.config: %v", err)
		}
		a, err := hall.AgentConfigSignature(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		if a.AgentID != hallAgentID || !hex40.MatchString(a.Signature) {
			t.Errorf("agentConfig signature = %+v", a)
		}
		if err := e.sim.VerifyJSSignature(wecomsim.JSConfig{AgentConfig: true, CorpID: a.CorpID, AgentID: a.AgentID, Timestamp: a.Timestamp, NonceStr: a.NonceStr, Signature: a.Signature, URL: page}); err != nil {
			t.Errorf("simulator rejects wx.agentConfig: %v", err)
		}
	}
	// A second instance shares the tickets.
	other, _ := e.newCorp(t, e.store).App("hall")
	if _, err := other.ConfigSignature(ctx, page); err != nil {
		t.Fatal(err)
	}
	if n := e.calls("/cgi-bin/get_jsapi_ticket"); n != 1 {
		t.Errorf("%d get_jsapi_ticket calls, want 1", n)
	}
	if n := e.calls("/cgi-bin/ticket/get"); n != 1 {
		t.Errorf("%d ticket/get calls, want 1", n)
	}
	// Near the end of its life the ticket is fetched again, once.
	e.clock.Add(7100 * time.Second)
	for i := 0; i < 3; i++ {
		if _, err := hall.ConfigSignature(ctx, page); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.calls("/cgi-bin/get_jsapi_ticket"); n != 2 {
		t.Errorf("%d get_jsapi_ticket calls after 7100 s, want 2", n)
	}
	if _, err := e.contacts(t).AgentConfigSignature(ctx, page); err == nil {
		t.Error("agentConfig signature without an agentid")
	}
}

func TestJSSDKTicketQuota(t *testing.T) {
	e := newEnv(t, func(o *wecom.Options) { o.Limits = wecom.Limits{JSAPITicketAppPerHour: 1} })
	hall := e.hall(t)
	if _, err := hall.AgentConfigSignature(ctx, "https://h5.example.edu.cn/"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(7200 * time.Second) // ticket gone; the bucket has refilled
	if _, err := hall.AgentConfigSignature(ctx, "https://h5.example.edu.cn/"); err != nil {
		t.Fatal(err)
	}
	if _, err := hall.ConfigSignature(ctx, "https://h5.example.edu.cn/"); err != nil {
		t.Fatal(err)
	}
	// Third ticket fetch within the hour by this app: it waited.
	if w := e.sleeps.list(); len(w) != 1 || w[0] < 50*time.Minute {
		t.Errorf("waits = %v, want one of about an hour", w)
	}
}
