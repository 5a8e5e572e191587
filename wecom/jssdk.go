package wecom

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// JS-SDK signatures (§4.3). The corp ticket signs wx.config, the app ticket
// wx.agentConfig. Tickets are shared values like access tokens (see
// token.go): cached in coord for every instance, fetched once under a lock,
// refreshed ahead of expiry — which keeps us far below WeCom's 400/h per corp
// and 100/h per app, and the rate limiter holds the line if something goes
// wrong. silenceper's WorkJsTicket is not used: it caches per process with a
// local mutex.

// JSSignature is what a page needs for wx.config (CorpID) or wx.agentConfig
// (CorpID and AgentID).
type JSSignature struct {
	CorpID    string `json:"corpid"`
	AgentID   int64  `json:"agentid,omitempty"`
	Timestamp int64  `json:"timestamp"`
	NonceStr  string `json:"nonceStr"`
	Signature string `json:"signature"`
}

// SignJSAPI computes the JS-SDK signature: sha1 of
// "jsapi_ticket=T&noncestr=N&timestamp=S&url=U" in that order, unescaped,
// with the URL's fragment removed.
func SignJSAPI(ticket, nonceStr string, timestamp int64, pageURL string) string {
	pageURL, _, _ = strings.Cut(pageURL, "#")
	h := sha1.New()
	h.Write([]byte("jsapi_ticket=" + ticket + "&noncestr=" + nonceStr + "&timestamp=" + strconv.FormatInt(timestamp, 10) + "&url=" + pageURL))
	return hex.EncodeToString(h.Sum(nil))
}

// ConfigSignature signs pageURL for wx.config with the corp's jsapi ticket.
func (cl *Client) ConfigSignature(ctx context.Context, pageURL string) (*JSSignature, error) {
	t, err := cl.corpTicket().get(ctx)
	if err != nil {
		return nil, err
	}
	return cl.sign(t, 0, pageURL)
}

// AgentConfigSignature signs pageURL for wx.agentConfig with the app's
// ticket (wx.agentConfig is unavailable inside the WeChat plugin).
func (cl *Client) AgentConfigSignature(ctx context.Context, pageURL string) (*JSSignature, error) {
	if cl.agentID == 0 {
		return nil, fmt.Errorf("wecom: agent_config ticket: client %s has no agentid", cl.name)
	}
	t, err := cl.agentTicket().get(ctx)
	if err != nil {
		return nil, err
	}
	return cl.sign(t, cl.agentID, pageURL)
}

func (cl *Client) sign(ticket string, agentID int64, pageURL string) (*JSSignature, error) {
	if u, err := url.Parse(pageURL); err != nil || u.Host == "" {
		return nil, fmt.Errorf("wecom: js-sdk signature: page url %q is not absolute", pageURL)
	}
	nonce, err := nonceStr()
	if err != nil {
		return nil, err
	}
	ts := cl.corp.now().Unix()
	return &JSSignature{CorpID: cl.corp.corpID, AgentID: agentID, Timestamp: ts, NonceStr: nonce,
		Signature: SignJSAPI(ticket, nonce, ts, pageURL)}, nil
}

const nonceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func nonceStr() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("wecom: nonce: %w", err)
	}
	for i := range b {
		b[i] = nonceAlphabet[int(b[i])%len(nonceAlphabet)]
	}
	return string(b[:]), nil
}

type ticketResponse struct {
	apiResponse
	Ticket    string `json:"ticket"`
	ExpiresIn int64  `json:"expires_in"`
}

// corpTicket is the corp's jsapi ticket (one per corp, fetched with this
// client's token).
func (cl *Client) corpTicket() *shared {
	const api = "get_jsapi_ticket"
	return cl.ticket("jsapi_ticket", "wecom:jsticket:corp:"+cl.corp.corpID, api, nil)
}

// agentTicket is the app's agent_config ticket.
func (cl *Client) agentTicket() *shared {
	const api = "ticket/get"
	return cl.ticket("agent_ticket", "wecom:jsticket:agent:"+cl.corp.corpID+":"+itoa64(cl.agentID), api, url.Values{"type": {"agent_config"}})
}

func (cl *Client) ticket(kind, key, api string, q url.Values) *shared {
	c := cl.corp
	buckets := perHour(c.rlKey("jsapi_ticket", "corp"), c.limits.JSAPITicketCorpPerHour)
	if cl.agentID != 0 {
		buckets = append(buckets, perHour(c.rlKey("jsapi_ticket", "app", itoa64(cl.agentID)), c.limits.JSAPITicketAppPerHour)...)
	}
	return &shared{
		corp: c, key: key, kind: kind, owner: cl.name, hash: kind,
		fetch: func(ctx context.Context) (string, time.Duration, error) {
			var out ticketResponse
			err := cl.do(ctx, callSpec{api: api, idempotent: true, buckets: buckets}, func(cs *callState) error {
				out = ticketResponse{}
				return cs.getJSON(api, q, &out)
			})
			if err != nil {
				return "", 0, fmt.Errorf("wecom: %s for %s: %w", api, cl.name, err)
			}
			if out.Ticket == "" {
				return "", 0, fmt.Errorf("wecom: %s for %s: empty ticket", api, cl.name)
			}
			return out.Ticket, time.Duration(out.ExpiresIn) * time.Second, nil
		},
	}
}
