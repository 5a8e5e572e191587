package wecom

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fuzzRandom makes sealed seeds reproducible.
var fuzzRandom = [16]byte{'0', '9', '6', '0', '6', '8', '8', '9', '3', '2', 'c', '4', '7', 'e', 'f', '1'}

func sealForTest(c *Crypter, msg []byte, timestamp, nonce string) (body []byte, sig string) {
	enc := c.EncryptWithRandom(fuzzRandom, msg)
	body = []byte("<xml><ToUserName><![CDATA[" + c.ReceiveID() + "]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>")
	return body, c.Signature(timestamp, nonce, enc)
}

// addFixtureSeeds feeds every testdata fixture to add.
func addFixtureSeeds(f *testing.F, add func(raw []byte)) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil {
		f.Fatal(err)
	}
	replies, _ := filepath.Glob("testdata/reply/*.xml")
	for _, name := range append(files, replies...) {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(raw)
	}
}

// checkParsed holds the invariants of any accepted message: the key fits the
// inbox index, and rendering then re-parsing gives the same fields.
func checkParsed(t *testing.T, e *Event) {
	t.Helper()
	_ = e.Kind()
	k := e.DedupKey()
	if len(k) == 0 || len(k) > 68 {
		t.Fatalf("DedupKey() = %q", k)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			t.Fatalf("DedupKey() not printable ASCII: %q", k)
		}
	}
	out := e.XML()
	back, err := ParseEvent(out)
	if err != nil {
		t.Fatalf("re-parse of XML() failed: %v\n%s", err, out)
	}
	a, b := *e, *back
	a.Raw, b.Raw = nil, nil
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changed the event\nparsed  %+v\nrebuilt %+v\nxml %s", a, b, out)
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(vecPostMsg))
	addFixtureSeeds(f, func(raw []byte) { f.Add(raw) })
	for _, s := range []string{
		"<xml><Content>a &lt;b&gt; &#x4F60;&#22909; <![CDATA[]]]]><![CDATA[>]]><!--c--><?p?></Content></xml>",
		"<xml a='1'><MsgType>event</MsgType><Event>change_contact</Event><Department>1,,x,2</Department><Name/></xml>",
		"<xml><SelectedItems><SelectedItem><OptionIds><OptionId>1</OptionId></OptionIds></SelectedItem></SelectedItems></xml>",
		"<xml><MsgType>location</MsgType><Location_X>NaN</Location_X><Location_Y>1e999</Location_Y></xml>",
		"<xml></xml><x/>", "<a><b></a></b>", "<!DOCTYPE x><x/>", "<x>&#xD800;</x>", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEvent(data)
		if err != nil {
			if !errors.Is(err, ErrXML) {
				t.Fatalf("error not ErrXML: %v", err)
			}
		} else {
			if !bytes.Equal(e.Raw, data) {
				t.Fatal("Raw differs from input")
			}
			checkParsed(t, e)
		}

		r, err := ParseReply(data)
		if err != nil {
			return
		}
		back, err := ParseReply(r.XML())
		if err != nil {
			t.Fatalf("re-parse of reply failed: %v\n%s", err, r.XML())
		}
		a, b := *r, *back
		a.Raw, b.Raw = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("reply round trip changed\nparsed  %+v\nrebuilt %+v", a, b)
		}
	})
}

func FuzzOpenAndParse(f *testing.F) {
	c := mustCrypter(f, vecToken, vecAESKey, vecReceiveID)
	official := "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + vecPostEncrypt + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
	f.Add("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", []byte(official))
	addFixtureSeeds(f, func(raw []byte) {
		body, sig := sealForTest(c, raw, "1700000000", "42")
		f.Add(sig, "1700000000", "42", body)
	})
	f.Add("", "", "", []byte("<xml><Encrypt><![CDATA[]]></Encrypt></xml>"))
	f.Add("x", "1", "2", []byte("<xml><Encrypt>AAAA</Encrypt></xml>"))

	f.Fuzz(func(t *testing.T, sig, timestamp, nonce string, body []byte) {
		// 1. As received.
		if e, err := c.OpenEvent(sig, timestamp, nonce, body); err == nil {
			checkParsed(t, e)
		} else if ce := (*CryptoError)(nil); !errors.As(err, &ce) && !errors.Is(err, ErrXML) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}

		// The envelope fast path answers only where encoding/xml answers the
		// same.
		if fast, ok := fastEnvelope(body); ok {
			env, err := parseEnvelope(body)
			if err != nil || !bytes.Equal(env.Encrypt, fast) {
				t.Fatalf("fast envelope read %q; encoding/xml read %v, %v", fast, env, err)
			}
		}

		// 2. Re-signed, so that mutated ciphertexts get past the signature
		// check and exercise decryption, unpadding and parsing.
		if enc, err := EnvelopeEncrypt(body); err == nil {
			good := c.Signature(timestamp, nonce, string(enc))
			e, err := c.OpenEvent(good, timestamp, nonce, body)
			if errors.Is(err, ErrSignature) {
				t.Fatalf("recomputed signature refused: %v", err)
			}
			if err == nil {
				checkParsed(t, e)
			}
		}

		// 3. The body as a plaintext message: sealing then opening must give
		// it back byte for byte and parse exactly like ParseEvent.
		env, good := sealForTest(c, body, timestamp, nonce)
		msg, err := c.Open(good, timestamp, nonce, env)
		if err != nil {
			t.Fatalf("open of our own seal: %v", err)
		}
		if !bytes.Equal(msg, body) {
			t.Fatalf("seal/open changed the message")
		}
		direct, errDirect := ParseEvent(body)
		opened, errOpened := c.OpenEvent(good, timestamp, nonce, env)
		if (errDirect == nil) != (errOpened == nil) {
			t.Fatalf("ParseEvent err %v, OpenEvent err %v", errDirect, errOpened)
		}
		if errDirect == nil && !reflect.DeepEqual(direct, opened) {
			t.Fatalf("OpenEvent and ParseEvent disagree")
		}
	})
}
