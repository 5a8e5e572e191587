package wecom

import (
	"encoding/xml"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

// The benchmarks run the whole receive path of a text-message callback on
// the official POST vector (a real 284-byte text message): envelope,
// signature, AES-CBC, inner XML. Run with
//
//	go test -run='^$' -bench=Callback -benchmem ./wecom/
const (
	benchSig   = "477715d11cdb4164915debcba66cb864d751f3e6"
	benchTS    = "1409659813"
	benchNonce = "1372623149"
)

var benchBody = []byte("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + vecPostEncrypt + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>")

func BenchmarkCallbackOurs(b *testing.B) {
	c := mustCrypter(b, vecToken, vecAESKey, vecReceiveID)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		msg, err := c.Open(benchSig, benchTS, benchNonce, benchBody)
		if err != nil {
			b.Fatal(err)
		}
		e, err := ParseEvent(msg)
		if err != nil || e.Content != "hello" {
			b.Fatal(e, err)
		}
	}
}

// BenchmarkCallbackOursOpenEvent is the same path through OpenEvent, which
// saves the second copy of the decrypted message.
func BenchmarkCallbackOursOpenEvent(b *testing.B) {
	c := mustCrypter(b, vecToken, vecAESKey, vecReceiveID)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		e, err := c.OpenEvent(benchSig, benchTS, benchNonce, benchBody)
		if err != nil || e.Content != "hello" {
			b.Fatal(e, err)
		}
	}
}

// silenceperEnvelope and silenceperMessage are what an encoding/xml based
// handler (silenceper's own server does this) unmarshals into: the same
// fields ParseEvent fills.
type silenceperEnvelope struct {
	ToUserName string
	Encrypt    string
	AgentID    string
}

type silenceperMessage struct {
	XMLName       xml.Name `xml:"xml"`
	ToUserName    string
	FromUserName  string
	CreateTime    int64
	MsgType       string
	Event         string
	ChangeType    string
	EventKey      string
	AgentID       int64
	MsgID         string `xml:"MsgId"`
	Content       string
	Title         string
	Description   string
	URL           string `xml:"Url"`
	PicURL        string `xml:"PicUrl"`
	MediaID       string `xml:"MediaId"`
	Format        string
	ThumbMediaID  string  `xml:"ThumbMediaId"`
	LocationX     float64 `xml:"Location_X"`
	LocationY     float64 `xml:"Location_Y"`
	Scale         int
	Label         string
	Latitude      float64
	Longitude     float64
	Precision     float64
	TaskID        string `xml:"TaskId"`
	CardType      string
	ResponseCode  string
	SelectedItems []struct {
		QuestionKey string
		OptionIDs   []string `xml:"OptionIds>OptionId"`
	} `xml:"SelectedItems>SelectedItem"`
	BatchJob *struct {
		JobID   string `xml:"JobId"`
		JobType string
		ErrCode int
		ErrMsg  string
	}
}

func BenchmarkCallbackSilenceper(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		var env silenceperEnvelope
		if err := xml.Unmarshal(benchBody, &env); err != nil {
			b.Fatal(err)
		}
		if util.Signature(vecToken, benchTS, benchNonce, env.Encrypt) != benchSig {
			b.Fatal("signature")
		}
		_, raw, err := util.DecryptMsg(vecReceiveID, env.Encrypt, vecAESKey)
		if err != nil {
			b.Fatal(err)
		}
		var m silenceperMessage
		if err := xml.Unmarshal(raw, &m); err != nil || m.Content != "hello" {
			b.Fatal(m, err)
		}
	}
}

// BenchmarkParseEvent measures the parser alone on each fixture shape.
func BenchmarkParseEvent(b *testing.B) {
	for _, name := range []string{"text.xml", "template_card_event.xml", "create_user.xml", "sys_approval_change.xml"} {
		raw := readFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := ParseEvent(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseEventEncodingXML is a plain encoding/xml struct decode, the
// floor for BenchmarkParseEvent (which adds the guard, lenient scalars and
// the conversion to Event).
func BenchmarkParseEventEncodingXML(b *testing.B) {
	for _, name := range []string{"text.xml", "template_card_event.xml"} {
		raw := readFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var m silenceperMessage
				if err := xml.Unmarshal(raw, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDedupKey(b *testing.B) {
	for _, name := range []string{"text.xml", "template_card_event.xml", "create_user.xml"} {
		e, err := ParseEvent(readFixture(b, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = e.DedupKey()
			}
		})
	}
}
