package handler

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/guest"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/internal/logctx"
	"github.com/wecomapp/wecomapp/store"
)

// Off-campus sign-in (package guest): an applicant, a parent or a visitor
// types a mobile number on /guest/login, POST /guest/code texts a code,
// POST /guest/login checks it and signs the browser in as the guest
// (auth.SourcePhone, UserID "guest:+86…"), then sends it back to the
// return path, a page of the service hall. The forms are guarded like
// every other form (CrossOriginProtection in pageRoutes); the limits and
// the audit are the guest service's.

// guestHome is where a guest lands without a return path.
const guestHome = "/hall/"

// guestReturn is a local path to go to after sign-in (auth.SafeReturnTo:
// "/" and not "//", no scheme, no host), the hall's home otherwise.
func guestReturn(raw string) string {
	ret := auth.SafeReturnTo(raw)
	if ret == "/" {
		return guestHome
	}
	return ret
}

func (s *server) guestView(c *gin.Context, ret, mobile string) h5.GuestLogin {
	return h5.GuestLogin{Page: s.page(c, "手机号登录"), Return: ret, Mobile: mobile,
		Minutes: int((s.Guest.CodeTTL() + time.Minute - 1) / time.Minute), FieldError: map[string]string{}}
}

// guestLoginPage asks for the number. A guest already signed in goes on.
func (s *server) guestLoginPage(c *gin.Context) error {
	if s.Guest == nil {
		return store.ErrNotFound
	}
	ret := guestReturn(c.Query("return"))
	if p, ok := s.Sessions.Current(c.Request.Context()); ok && guest.IsGuest(p) {
		c.Redirect(http.StatusSeeOther, ret)
		return nil
	}
	v := s.guestView(c, ret, "")
	v.Flash = ""
	return s.render(c, http.StatusOK, "guest_login", v)
}

// guestSendCode texts a code and shows the code step, or the number step
// again with what went wrong.
func (s *server) guestSendCode(c *gin.Context) error {
	if s.Guest == nil {
		return store.ErrNotFound
	}
	ctx := c.Request.Context()
	mobile := strings.TrimSpace(c.PostForm("mobile"))
	v := s.guestView(c, guestReturn(c.PostForm("return")), mobile)
	v.Flash = ""
	err := s.Guest.SendCode(ctx, mobile, c.ClientIP())
	var ie *guest.InvalidMobileError
	var rl *guest.RateLimitError
	switch {
	case errors.As(err, &ie):
		v.FieldError["mobile"] = guestMobileProblem(ie.Reason)
		return s.render(c, http.StatusBadRequest, "guest_login", v)
	case errors.As(err, &rl):
		// Asked again from the code step: the code sent before still
		// works, so its field stays.
		v.CodeSent = c.PostForm("step") == "code"
		return s.guestLimited(c, v, rl, "获取验证码")
	case errors.Is(err, guest.ErrNotSent):
		v.Error = "验证码短信没有发出，请稍后再试。如果一直收不到，请联系学校服务台。"
		return s.render(c, http.StatusServiceUnavailable, "guest_login", v)
	case err != nil:
		return err
	}
	e164, _ := guest.Normalize(mobile)
	v.CodeSent, v.SentTo = true, guest.Masked(e164)
	v.Flash = "验证码已发送至 " + v.SentTo
	return s.render(c, http.StatusOK, "guest_login", v)
}

// guestLogin checks the code and signs the guest in.
func (s *server) guestLogin(c *gin.Context) error {
	if s.Guest == nil {
		return store.ErrNotFound
	}
	ctx := c.Request.Context()
	mobile := strings.TrimSpace(c.PostForm("mobile"))
	ret := guestReturn(c.PostForm("return"))
	v := s.guestView(c, ret, mobile)
	v.Flash, v.CodeSent = "", true
	code := strings.TrimSpace(c.PostForm("code"))
	if code == "" {
		v.FieldError["code"] = "请填写短信里的 6 位验证码。"
		return s.render(c, http.StatusBadRequest, "guest_login", v)
	}
	e164, err := s.Guest.Verify(ctx, mobile, code, c.ClientIP())
	var ie *guest.InvalidMobileError
	var rl *guest.RateLimitError
	var wrong *guest.WrongCodeError
	switch {
	case errors.As(err, &ie):
		v.CodeSent = false
		v.FieldError["mobile"] = guestMobileProblem(ie.Reason)
		return s.render(c, http.StatusBadRequest, "guest_login", v)
	case errors.As(err, &rl):
		return s.guestLimited(c, v, rl, "登录")
	case errors.As(err, &wrong) && wrong.Left > 0:
		v.FieldError["code"] = fmt.Sprintf("验证码不正确，还可以再试 %d 次。", wrong.Left)
		return s.render(c, http.StatusBadRequest, "guest_login", v)
	case wrong != nil:
		v.FieldError["code"] = "验证码错误次数过多，已经失效，请重新获取验证码。"
		return s.render(c, http.StatusBadRequest, "guest_login", v)
	case errors.Is(err, guest.ErrNoCode):
		v.FieldError["code"] = "验证码已失效（过期或已使用），请重新获取验证码。"
		return s.render(c, http.StatusBadRequest, "guest_login", v)
	case err != nil:
		return err
	}
	if err := s.Sessions.SignIn(ctx, guest.Principal(e164)); err != nil {
		return err
	}
	logctx.L(ctx, s.log).Info("guest signed in", zap.String("mobile", guest.Masked(e164)))
	c.Redirect(http.StatusSeeOther, ret)
	return nil
}

// guestLimited answers a spent allowance with the wait, on the page and
// in Retry-After.
func (s *server) guestLimited(c *gin.Context, v h5.GuestLogin, rl *guest.RateLimitError, what string) error {
	v.Wait = rl.Seconds()
	v.WaitText = strconv.Itoa(v.Wait) + " 秒"
	if v.Wait > 120 {
		v.WaitText = "约 " + strconv.Itoa((v.Wait+59)/60) + " 分钟"
	}
	c.Header("Retry-After", strconv.Itoa(v.Wait))
	if rl.Scope == guest.ScopeIP {
		v.Error = "你所在的网络" + what + "太频繁（同一 Wi-Fi 下的人共用这个次数），请稍后再试，或换用手机流量。"
	} else {
		v.Error = "这个手机号获取验证码太频繁，请稍后再试。"
	}
	return s.render(c, http.StatusTooManyRequests, "guest_login", v)
}

// guestMobileProblem says what is wrong with a number, by guest's reason.
func guestMobileProblem(reason string) string {
	switch reason {
	case guest.ReasonEmpty:
		return "请填写手机号。"
	case guest.ReasonNotMobile:
		return "这不是手机号：验证码只能发到手机上，请填写手机号。"
	case guest.ReasonNotMainland:
		return "目前只支持中国大陆手机号（+86）。"
	}
	return "手机号格式不对：请填写 11 位手机号。"
}
