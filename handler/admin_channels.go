package handler

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/auth"
	"github.com/wecomapp/wecomapp/h5"
	"github.com/wecomapp/wecomapp/store"
)

// The console's 微信插件成员: an admin marks by hand who reads messages in
// the WeChat plugin (textcards instead of markdown and template cards) or
// in WeCom, over what their sign-ins said; the message center reads the
// marks when it expands a message (store.WeChatPluginUsers).

func (s *server) adminChannels(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	return s.renderChannels(c, http.StatusOK, h5.AdminChannel{Client: "wechat"}, nil)
}

func (s *server) renderChannels(c *gin.Context, status int, form h5.AdminChannel, fe map[string]string) error {
	ctx := c.Request.Context()
	marks, err := s.DB.PersonChannels(ctx)
	if err != nil {
		return err
	}
	plugin, err := s.DB.WeChatPluginUsers(ctx)
	if err != nil {
		return err
	}
	v := h5.AdminChannels{AdminPage: s.adminPage(c, "微信插件成员", "/admin/channels"), Detected: len(plugin), Form: form, FieldError: fe}
	for _, m := range marks {
		name := m.UserID
		if mm, err := s.DB.GetMirrorMember(ctx, nil, m.UserID); err == nil {
			name = mm.Name
		}
		v.Marks = append(v.Marks, h5.AdminChannel{UserID: m.UserID, Name: name, Client: m.Client, Note: m.Note, SetBy: m.SetBy, SetAt: fmtMillis(m.SetAt)})
	}
	return s.render(c, status, "admin_channels", v)
}

// adminSaveChannel marks a member (client wechat or wecom) or removes the
// mark (client ""), audited.
func (s *server) adminSaveChannel(c *gin.Context) error {
	if err := s.may(c, auth.PermMessage); err != nil {
		return err
	}
	ctx := c.Request.Context()
	f := h5.AdminChannel{UserID: strings.TrimSpace(c.PostForm("userid")), Client: c.PostForm("client"), Note: strings.TrimSpace(c.PostForm("note"))}
	fe := map[string]string{}
	switch f.Client {
	case "wechat", "wecom", "":
	default:
		fe["client"] = "请选择微信插件、企业微信或取消标记"
	}
	if utf8.RuneCountInString(f.Note) > 128 {
		fe["note"] = "备注最多 128 个字"
	}
	if f.UserID == "" {
		fe["userid"] = "请填写成员账号（工号或学号）"
	} else if _, err := s.DB.GetMirrorMember(ctx, nil, f.UserID); errors.Is(err, store.ErrNotFound) {
		fe["userid"] = "通讯录里没有账号 " + f.UserID
	} else if err != nil {
		return err
	}
	if len(fe) > 0 {
		return s.renderChannels(c, http.StatusBadRequest, f, fe)
	}
	now := s.Now()
	err := s.DB.WithTx(ctx, func(tx *sqlx.Tx) error {
		before, err := s.DB.SetPersonChannel(ctx, tx, store.PersonChannel{UserID: f.UserID, Client: f.Client, Note: f.Note, SetBy: principal(c).UserID, SetAt: store.Millis(now)})
		if err != nil {
			return err
		}
		var was, is any
		if before != nil {
			was = map[string]string{"client": before.Client, "note": before.Note, "set_by": before.SetBy}
		}
		if f.Client != "" {
			is = map[string]string{"client": f.Client, "note": f.Note}
		}
		return s.auditTx(c, tx, "channel.mark", "person/"+f.UserID, was, is, now)
	})
	if err != nil {
		return err
	}
	switch f.Client {
	case "wechat":
		return saved(c, "/admin/channels", f.UserID+" 已标记为微信插件：消息改发文字卡片")
	case "wecom":
		return saved(c, "/admin/channels", f.UserID+" 已标记为企业微信：消息按原样发送")
	}
	return saved(c, "/admin/channels", f.UserID+" 已取消标记：按登录自动识别")
}
