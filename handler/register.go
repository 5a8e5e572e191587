package handler

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/nyaruka/phonenumbers"
	qrcode "github.com/skip2/go-qrcode"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/cas"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/internal/mask"
	"github.com/wecomapp/wecomapp/selfreg"
)

// Self-registration (selfreg): the poster's QR code opens /register; the
// person chooses 教职工 or 学生 and goes to CAS with a state bound to this
// browser, as sign-in does (auth.NewState: a ticket cannot be replayed in
// another browser, nor someone else's identity planted in this one). The
// callback validates the ticket and keeps what CAS verified in the
// coordination layer under a random token that only this browser holds
// (an HttpOnly cookie scoped to /register), for the form to use within
// selfRegTTL. The form posts name and mobile; selfreg.Service.Register
// checks, enrols and welcomes, and writes the audit row.

const (
	// selfRegCookie carries the token of what CAS verified.
	selfRegCookie = "wecomapp_selfreg"
	// selfRegTTL is how long the form may be filled after CAS: long enough
	// to look up one's phone, short enough that a phone left on a desk is
	// not an open registration.
	selfRegTTL = 15 * time.Minute
	// selfRegQRSize is the QR code's side in pixels: sharp on a printed
	// A4 poster, small enough to send (a few KB).
	selfRegQRSize = 512
)

// selfRegVerified is what CAS verified, kept under the browser's token.
type selfRegVerified struct {
	Type selfreg.Type `json:"type"`
	User string       `json:"user"`
	// Name and Dept are CAS attributes, if released: the name prefills the
	// form, the department is checked (Deps.SelfRegDeptAttr).
	Name string `json:"name,omitempty"`
	Dept string `json:"dept,omitempty"`
}

func selfRegKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "selfreg:verified:" + hex.EncodeToString(sum[:])
}

// selfRegOpen: self-registration is configured (it needs CAS).
func (s *server) selfRegOpen() bool { return s.SelfReg != nil && s.CAS != nil }

func (s *server) registerTypes() []h5.RegisterType {
	var out []h5.RegisterType
	for _, t := range []struct {
		t      selfreg.Type
		idName string
	}{{selfreg.Faculty, "工号"}, {selfreg.Student, "学号"}} {
		out = append(out, h5.RegisterType{Key: string(t.t), Name: t.t.Name(), IDName: t.idName, Href: "/register/start?type=" + string(t.t)})
	}
	return out
}

func (s *server) registerURL() string { return s.PublicURL + "/register" }

// registerOff answers every self-registration page while it is not open.
func (s *server) registerOff(c *gin.Context) error {
	return s.render(c, http.StatusNotFound, "register", h5.Register{Page: s.page(c, "自助注册未开通"), Off: true, Contact: s.JoinContact})
}

// registerStartPage is /register: the type choice, or problem (why the
// last step did not work) above it.
func (s *server) registerStartPage(c *gin.Context, status int, problem string) error {
	if !s.selfRegOpen() {
		return s.registerOff(c)
	}
	return s.render(c, status, "register", h5.Register{Page: s.page(c, "加入学校企业微信"), Types: s.registerTypes(),
		QR: "/register/qr.png", URL: s.registerURL(), Problem: problem, Contact: s.JoinContact})
}

func (s *server) registerPage(c *gin.Context) error { return s.registerStartPage(c, http.StatusOK, "") }

// registerPoster is the printable page with the QR code, for the
// information center to put up.
func (s *server) registerPoster(c *gin.Context) error {
	if !s.selfRegOpen() {
		return s.registerOff(c)
	}
	return s.render(c, http.StatusOK, "register", h5.Register{Page: s.page(c, "扫码加入学校企业微信"), Poster: true,
		QR: "/register/qr.png", URL: s.registerURL(), Contact: s.JoinContact})
}

// registerQR is the QR code of the public /register address.
func (s *server) registerQR(c *gin.Context) error {
	if !s.selfRegOpen() || s.PublicURL == "" {
		return s.registerOff(c)
	}
	png, err := qrcode.Encode(s.registerURL(), qrcode.Medium, selfRegQRSize)
	if err != nil {
		return fmt.Errorf("handler: QR code of %s: %w", s.registerURL(), err)
	}
	// The same for everyone and for as long as the public URL stays.
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, "image/png", png)
	return nil
}

// registerStart sends the browser to CAS for the chosen type.
func (s *server) registerStart(c *gin.Context) error {
	if !s.selfRegOpen() {
		return s.registerOff(c)
	}
	t := selfreg.Type(c.Query("type"))
	if !t.Valid() {
		return s.registerStartPage(c, http.StatusBadRequest, "请先选择你的身份：教职工或学生。")
	}
	// The type rides in the state's return path, so the callback reads it
	// from our own record, not from a URL someone could edit.
	state, err := s.Sessions.NewState(c.Request.Context(), "/register/form?type="+string(t))
	if err != nil {
		return err
	}
	c.Redirect(http.StatusFound, s.CAS.LoginURL(s.registerService(state)))
	return nil
}

func (s *server) registerService(state string) string {
	return s.PublicURL + "/register/cas/callback?state=" + url.QueryEscape(state)
}

// registerCallback ends the CAS round trip: this browser's state, a valid
// ticket; what CAS verified is kept for the form.
func (s *server) registerCallback(c *gin.Context) error {
	if !s.selfRegOpen() {
		return s.registerOff(c)
	}
	ctx := c.Request.Context()
	state, ticket := c.Query("state"), c.Query("ticket")
	if ticket == "" {
		return s.registerStartPage(c, http.StatusBadRequest, "统一身份认证没有返回票据，请重新选择身份并登录。")
	}
	ret, err := s.Sessions.TakeState(ctx, state)
	if errors.Is(err, auth.ErrBadState) {
		return s.registerStartPage(c, http.StatusBadRequest, "注册链接已失效或不属于这个浏览器，请重新选择身份并登录。")
	}
	if err != nil {
		return err
	}
	u, _ := url.Parse(ret)
	t := selfreg.Type(u.Query().Get("type"))
	if u.Path != "/register/form" || !t.Valid() {
		// A state issued by sign-in, not by us.
		return s.registerStartPage(c, http.StatusBadRequest, "注册链接已失效或不属于这个浏览器，请重新选择身份并登录。")
	}
	p, err := s.CAS.Validate(ctx, s.registerService(state), ticket)
	var ce *cas.Error
	if errors.As(err, &ce) {
		logctx.L(ctx, s.log).Info("self-registration: cas ticket refused", zap.String("code", ce.Code))
		return s.registerStartPage(c, http.StatusBadRequest, "统一身份认证票据无效或已过期，请重新选择身份并登录。")
	}
	if err != nil {
		return err
	}
	v := selfRegVerified{Type: t, User: p.User, Name: p.Attr("姓名", "name", "cn", "displayName")}
	if s.SelfRegDeptAttr != "" {
		v.Dept = p.Attr(s.SelfRegDeptAttr)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("handler: self-registration of %s: %w", p.User, err)
	}
	token := rand.Text()
	if err := s.Coord.Set(ctx, selfRegKey(token), b, selfRegTTL); err != nil {
		return fmt.Errorf("handler: self-registration of %s: keep the verification: %w", p.User, err)
	}
	s.setSelfRegCookie(c, token, int(selfRegTTL/time.Second))
	logctx.L(ctx, s.log).Info("self-registration: cas verified", zap.String("cas_user", p.User), zap.String("type", string(t)))
	c.Redirect(http.StatusSeeOther, "/register/form")
	return nil
}

func (s *server) setSelfRegCookie(c *gin.Context, token string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: selfRegCookie, Value: token, Path: "/register", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.PublicURL, "https://")})
}

// verified is what CAS verified for this browser, if it is still fresh.
func (s *server) verified(c *gin.Context) (selfRegVerified, string, bool, error) {
	var v selfRegVerified
	ck, err := c.Request.Cookie(selfRegCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 64 {
		return v, "", false, nil
	}
	b, err := s.Coord.Get(c.Request.Context(), selfRegKey(ck.Value))
	if errors.Is(err, coord.ErrNotFound) {
		return v, "", false, nil
	}
	if err != nil {
		return v, "", false, fmt.Errorf("handler: self-registration: read the verification: %w", err)
	}
	if json.Unmarshal(b, &v) != nil || !v.Type.Valid() || v.User == "" {
		return v, "", false, nil
	}
	return v, ck.Value, true, nil
}

const selfRegExpired = "身份验证已过期（登录统一身份认证后 15 分钟内有效），请重新选择身份并登录。"

func (s *server) registerFormView(c *gin.Context, v selfRegVerified) h5.RegisterForm {
	idName := "工号"
	if v.Type == selfreg.Student {
		idName = "学号"
	}
	return h5.RegisterForm{Page: s.page(c, "填写注册信息"), TypeName: v.Type.Name(), IDName: idName, UserID: v.User, Name: v.Name}
}

// registerForm asks the verified person for name and mobile.
func (s *server) registerForm(c *gin.Context) error {
	if !s.selfRegOpen() {
		return s.registerOff(c)
	}
	v, _, ok, err := s.verified(c)
	if err != nil {
		return err
	}
	if !ok {
		return s.registerStartPage(c, http.StatusBadRequest, selfRegExpired)
	}
	return s.render(c, http.StatusOK, "register_form", s.registerFormView(c, v))
}

// retryable refusals are answered with the form again: the person may
// have mistyped their name or phone.
var retryable = map[string]bool{selfreg.CheckNameMismatch: true, selfreg.CheckPhoneDiffers: true, selfreg.CheckPhoneTaken: true}

// registerSubmit is the form's POST: input checked, then Register.
func (s *server) registerSubmit(c *gin.Context) error {
	if !s.selfRegOpen() {
		return s.registerOff(c)
	}
	ctx := c.Request.Context()
	v, token, ok, err := s.verified(c)
	if err != nil {
		return err
	}
	if !ok {
		return s.registerStartPage(c, http.StatusBadRequest, selfRegExpired)
	}
	form := s.registerFormView(c, v)
	form.Name, form.Mobile = strings.TrimSpace(c.PostForm("name")), strings.TrimSpace(c.PostForm("mobile"))
	if fe := checkRegisterInput(form.Name, form.Mobile); len(fe) > 0 {
		form.FieldError = fe
		return s.render(c, http.StatusBadRequest, "register_form", form)
	}
	res, err := s.SelfReg.Register(ctx, selfreg.Attempt{Type: v.Type, CASUser: v.User, Name: form.Name, Mobile: form.Mobile, DeptCode: v.Dept,
		IP: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	var r *selfreg.Refusal
	switch {
	case errors.As(err, &r):
		ref := h5.RegisterRefusal{Check: r.Check, Message: r.Message, Advice: r.Advice}
		if retryable[r.Check] {
			form.Refusal = &ref
			return s.render(c, http.StatusForbidden, "register_form", form)
		}
		status := http.StatusForbidden
		if r.Check == selfreg.CheckRateLimited {
			status = http.StatusTooManyRequests
			c.Header("Retry-After", strconv.Itoa(int((r.RetryAfter+time.Second-1)/time.Second)))
		}
		return s.render(c, status, "register_refused", h5.RegisterRefused{Page: s.page(c, "暂时不能注册"), Refusal: ref,
			Restart: r.Check == selfreg.CheckTypeMismatch, Contact: s.JoinContact})
	case err != nil:
		// Enrol failed (WeCom, the sync lock): the verification stays, so
		// "再试一次" is one tap.
		logctx.L(ctx, s.log).Error("self-registration failed", zap.String("cas_user", v.User), zap.Error(err))
		return s.render(c, http.StatusServiceUnavailable, "register_refused", h5.RegisterRefused{Page: s.page(c, "注册没有完成"), Failed: true,
			Refusal: h5.RegisterRefusal{Message: "没能为你开通企业微信账号，这不是你的问题。", Advice: "请过几分钟再试一次；如果仍然不行，请联系服务台。"},
			Contact: s.JoinContact})
	}
	// Done: the verification is spent.
	if err := s.Coord.Delete(ctx, selfRegKey(token)); err != nil {
		logctx.L(ctx, s.log).Warn("self-registration: verification not deleted", zap.Error(err))
	}
	s.setSelfRegCookie(c, "", -1)
	return s.render(c, http.StatusOK, "register_done", h5.RegisterDone{Page: s.page(c, "开通成功"), UserID: res.Match.UserID, Name: res.Match.Name,
		TypeName: res.Match.Type.Name(), Mobile: mask.Phone(res.Match.Mobile), Welcomed: res.Welcomed, Contact: s.JoinContact})
}

// checkRegisterInput says what is wrong with the form's fields, by field.
func checkRegisterInput(name, mobile string) map[string]string {
	fe := map[string]string{}
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		fe["name"] = "请填写姓名。"
	case n > 32:
		fe["name"] = "姓名最多 32 个字。"
	}
	if msg := checkMobile(mobile); msg != "" {
		fe["mobile"] = msg
	}
	return fe
}

// checkMobile accepts a mobile number libphonenumber knows as one (read as
// Chinese without a country code), the kind WeCom logs in with.
func checkMobile(m string) string {
	if m == "" {
		return "请填写手机号。"
	}
	n, err := phonenumbers.Parse(m, "CN")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "手机号格式不对：请填写 11 位手机号，境外号码请带国家代码（如 +852）。"
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return ""
	}
	return "这不是手机号：企业微信用手机号接收验证码登录，请填写手机号。"
}
