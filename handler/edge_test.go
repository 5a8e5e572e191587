package handler_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// slowResult is what one slow-body connection saw.
type slowResult struct {
	status     int  // of the response it got, 0 for none
	retryAfter bool // the response had Retry-After
	closed     bool // the server closed the connection (not our own safety deadline)
	err        error
}

// TestCallbackSlowBodies opens a few thousand connections that send a
// callback's headers and then stall (some trickling a byte at a time),
// the probe that once exhausted the file limit. Meanwhile /healthz and a
// real callback are answered; every slow connection is closed by the
// server after its read deadline, or at once with a 503 when the reader
// cap is full; and afterwards the server takes callbacks as before.
func TestCallbackSlowBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of connections")
	}
	const slow = 2000
	tests := []struct {
		name    string
		readers int // server.max_callback_readers
		// Whether slow connections beyond the cap are answered 503 +
		// Retry-After without waiting for their body.
		overCap bool
		// The real callback sent meanwhile must be accepted at its first
		// delivery; over the cap it may be told to come back (WeCom
		// re-sends), and is accepted once a place frees.
		firstTry bool
	}{
		{"under the reader cap", slow + 64, false, true},
		{"over the reader cap", 32, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvWith(t, storetest.SQLite(t), zap.NewNop(), func(d *handler.Deps) { d.Callback.MaxReaders = tt.readers })
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			const readTimeout = 2 * time.Second
			srv := handler.NewServer(e.h, handler.ServerOptions{ReadHeaderTimeout: time.Second, ReadTimeout: readTimeout, IdleTimeout: 5 * time.Second})
			var open atomic.Int64 // server-side connections not yet closed
			srv.ConnState = func(_ net.Conn, s http.ConnState) {
				switch s {
				case http.StateNew:
					open.Add(1)
				case http.StateClosed, http.StateHijacked:
					open.Add(-1)
				}
			}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Close() })
			addr := ln.Addr().String()
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

			q, body := seal(t, e.oa, textMsg(900, "a body that never comes").XML(), "1000002")
			head := "POST /wecom/callback/oa?" + q + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: text/xml\r\n" +
				"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body[:16])

			start := time.Now()
			results := make(chan slowResult, slow)
			var sent sync.WaitGroup
			dialers := make(chan struct{}, 64)
			for i := range slow {
				sent.Add(1)
				dialers <- struct{}{}
				go func() {
					results <- slowConn(addr, head, i%100 == 0, func() { <-dialers; sent.Done() })
				}()
			}
			sent.Wait() // every slow connection has sent its headers
			// A place in the cap frees when its holder's deadline passes,
			// so a slow machine that took longer than that to open them
			// all gave some more connections a place.
			places := tt.readers * (1 + int(time.Since(start)/readTimeout))

			// Meanwhile: the process is alive and takes callbacks.
			if resp, err := client.Get("http://" + addr + "/healthz"); err != nil || resp.StatusCode != 200 {
				t.Fatalf("/healthz during the probe: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
			tries := postLikeWeCom(t, client, "http://"+addr, e, 901)
			if tt.firstTry && tries != 1 {
				t.Errorf("the real callback took %d deliveries, want 1", tries)
			}

			var busy, closed int
			for range slow {
				r := <-results
				if r.err != nil {
					t.Fatalf("slow connection: %v", r.err)
				}
				if r.status == http.StatusServiceUnavailable {
					busy++
					if !r.retryAfter {
						t.Error("a 503 without Retry-After")
					}
				} else if r.status != 0 && r.status != http.StatusBadRequest {
					t.Errorf("a slow connection got %d", r.status)
				}
				if r.closed {
					closed++
				}
			}
			t.Logf("%d slow connections: %d answered 503 at once, %d closed by the server; the real callback took %d deliveries", slow, busy, closed, tries)
			switch {
			case !tt.overCap && busy != 0:
				t.Errorf("%d slow connections answered 503 under the cap", busy)
			case tt.overCap && busy < slow-places:
				t.Errorf("%d slow connections answered 503, want at least %d (the cap has %d places)", busy, slow-places, tt.readers)
			}
			if closed != slow {
				t.Errorf("the server closed %d of %d slow connections", closed, slow)
			}
			waitFor(t, "the server to close every connection", func() bool { return open.Load() == 0 })

			// Recovered: the next callback is taken at once, and nothing of
			// the slow bodies was stored.
			if tries := postLikeWeCom(t, client, "http://"+addr, e, 902); tries != 1 {
				t.Errorf("after the probe a callback took %d deliveries", tries)
			}
			if n := len(e.rows(t)); n != 2 {
				t.Errorf("%d rows stored, want the 2 real callbacks", n)
			}
		})
	}
}

// slowConn sends head (a request's headers and the start of its body) and
// then nothing more, or one byte every 100 ms when trickle is set, and
// reports how the server dealt with it. sent is called once head is out.
// Its own deadline (30 s) only keeps the test from hanging.
func slowConn(addr, head string, trickle bool, sent func()) slowResult {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		sent()
		return slowResult{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	_, err = io.WriteString(conn, head)
	sent()
	if err != nil {
		return slowResult{err: err}
	}
	if trickle {
		go func() {
			for range 50 {
				time.Sleep(100 * time.Millisecond)
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}()
	}
	var r slowResult
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err == nil {
		r.status, r.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After") != ""
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil {
			_, err = br.ReadByte() // the server closes after answering
		}
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		// Our own deadline: the server kept the connection open.
	case err == nil:
		r.err = errors.New("the server kept the connection open for another request")
	default:
		r.closed = true // EOF or reset
	}
	return r
}

// postLikeWeCom delivers a fresh callback the way WeCom does — again after
// a refusal — and returns how many deliveries it took.
func postLikeWeCom(t *testing.T, client *http.Client, base string, e *env, msgID int) int {
	t.Helper()
	q, body := seal(t, e.oa, textMsg(msgID, "hello").XML(), "1000002")
	for try := 1; try <= 30; try++ {
		resp, err := client.Post(base+"/wecom/callback/oa?"+q, "text/xml", strings.NewReader(string(body)))
		if err != nil {
			t.Fatalf("callback %d delivery %d: %v", msgID, try, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 200 && string(b) == "success":
			return try
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(secs, 1)) * time.Second / 4)
		default:
			t.Fatalf("callback %d delivery %d: %d %q", msgID, try, resp.StatusCode, b)
		}
	}
	t.Fatalf("callback %d never accepted", msgID)
	return 0
}

// TestCallbackStoreDeadline locks the inbox table the way a long migration
// or a stuck transaction would: callbacks get a fast 503 with Retry-After
// (never a late 500 after WeCom gave up), and once the table is free
// WeCom's re-deliveries are stored, each once.
func TestCallbackStoreDeadline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvWith(t, db, nil, func(d *handler.Deps) { d.Callback.StoreTimeout = 300 * time.Millisecond })
		text := textMsg(77, "sent while the inbox is locked").XML()
		unparsable := []byte("<xml><Content>unterminated, while locked")
		// stored counts the rows holding msg. (On MySQL the statements cut
		// off by the deadline may still commit once the lock is released,
		// so only the per-callback count is certain: it must be one.)
		stored := func(msg []byte) int {
			n := 0
			for _, r := range e.rows(t) {
				if string(r.Payload) == string(msg) {
					n++
				}
			}
			return n
		}
		var unlock func()
		tests := []struct {
			name   string
			before func()
			msg    []byte
			status int
			body   string // exact, when 200
		}{
			{"inbox locked", func() { unlock = storetest.LockInbox(t, db) }, text, 503, ""},
			{"an unparsable callback while locked", nil, unparsable, 503, ""},
			{"unlocked: WeCom re-delivers", func() { unlock() }, text, 200, "success"},
			{"and the unparsable one", nil, unparsable, 200, "success"},
			{"another re-delivery", nil, text, 200, "success"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.before != nil {
					tt.before()
				}
				warned := e.logs.FilterMessage("callback not stored in time; answering 503 so that WeCom re-sends it").Len()
				q, body := seal(t, e.oa, tt.msg, "1000002")
				rec := e.do(http.MethodPost, "/wecom/callback/oa?"+q, body)
				if rec.Code != tt.status {
					t.Fatalf("status %d %q, want %d", rec.Code, rec.Body, tt.status)
				}
				switch tt.status {
				case 200:
					if rec.Body.String() != tt.body {
						t.Errorf("body %q, want %q", rec.Body, tt.body)
					}
				case 503:
					if rec.Header().Get("Retry-After") == "" || rec.Body.String() == "success" {
						t.Errorf("503 with Retry-After %q and body %q", rec.Header().Get("Retry-After"), rec.Body)
					}
					logs := e.logs.FilterMessage("callback not stored in time; answering 503 so that WeCom re-sends it").All()
					if len(logs) != warned+1 || logs[len(logs)-1].Level != zapcore.WarnLevel {
						t.Error("the late store was not logged once at warn")
					}
				}
				// Reads wait for the lock on MySQL: count only once it is free.
				if tt.status == 200 {
					if n := stored(tt.msg); n != 1 {
						t.Errorf("the callback is stored %d times, want once", n)
					}
				}
			})
		}
		if n := len(e.rows(t)); n != 2 {
			t.Errorf("%d rows, want the 2 callbacks", n)
		}
		if got := metricValue(t, e.reg, "wecomapp_callback_unavailable_total", map[string]string{"receiver": "oa", "reason": "store_timeout"}); got != 2 {
			t.Errorf("wecomapp_callback_unavailable_total{store_timeout} = %v, want 2", got)
		}
		if n := e.logs.FilterMessage("request failed").Len(); n != 0 {
			t.Errorf("%d requests failed with a 500", n)
		}
	})
}
