package sms

import (
	"context"
	"errors"
	"strings"
	"unicode/utf16"
)

// CodeInvalid is the code TextSender reports for a text the gateway
// refused before sending (too long, a link in it, 【】): resending the same
// text cannot help.
const CodeInvalid = "sms.Invalid"

// TextSender sends free text to one number through a Gateway, for callers
// that have a text rather than a template (notify's SMSSender). Providers
// send only approved templates, so the text becomes the single parameter
// {1} of a notice template approved for the purpose, e.g.
// "您有一条新通知：{1}。请登录学校服务大厅查看。" Links cannot travel in a
// parameter: keep them constant in the template.
type TextSender struct {
	Gateway Gateway
	// Template is the notice template's provider id, TemplateText its
	// approved body with {1} (for the length check and the simulator).
	Template, TemplateText string
	// ParamMaxChars, when > 0, cuts a longer text to that many characters
	// ending in "…" (the limit the SMS console shows for the template's
	// variable), rather than have the provider refuse it.
	ParamMaxChars int
}

// SendSMS sends text to mobile (E.164). It reports ok with an empty code
// when the provider accepted the text; ok false with a code when this
// number or this text was refused for good (the provider's code, or
// CodeInvalid); an error when trying again later may succeed (a rate or
// daily limit, a provider outage, a timeout). A timeout after the request
// was sent is an error too, so a retry may deliver a text twice rather
// than never (MaybeSent tells these apart).
func (s TextSender) SendSMS(ctx context.Context, mobile, text string) (ok bool, code string, err error) {
	param := strings.TrimSpace(text)
	if s.ParamMaxChars > 0 {
		param = truncate(param, s.ParamMaxChars)
	}
	res, err := s.Gateway.Send(ctx, Message{
		Mobiles:  []string{mobile},
		Template: s.Template,
		Params:   []string{param},
		Text:     Render(s.TemplateText, []string{param}),
	})
	var inv *InvalidError
	var e *Error
	switch {
	case errors.As(err, &inv):
		return false, CodeInvalid, nil
	case errors.As(err, &e) && !e.Retriable:
		return false, e.Code, nil
	case err != nil:
		return false, "", err
	}
	st := res.Statuses[0]
	switch {
	case st.OK:
		return true, "", nil
	case st.Retriable:
		return false, st.Code, &Error{Code: st.Code, Message: st.Message, RequestID: res.RequestID, Retriable: true, RetryAfter: st.RetryAfter}
	}
	return false, st.Code, nil
}

// truncate cuts s to at most n characters as the provider counts them,
// marking the cut with "…".
func truncate(s string, n int) string {
	if Chars(s) <= n {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		w := utf16.RuneLen(r)
		if used+w > n-1 {
			break
		}
		b.WriteRune(r)
		used += w
	}
	return b.String() + "…"
}
