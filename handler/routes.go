package handler

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/wecomapp/wecomapp/hall"
)

// routes is the one route table of the platform.
func (s *server) routes(r *gin.Engine) {
	r.GET("/", s.wrap(s.home))
	r.GET("/static/*path", gin.WrapH(staticHandler()))
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metricsHandler())

	r.GET("/wecom/callback/:app", s.wrap(s.callbackVerify))
	r.POST("/wecom/callback/:app", s.wrap(s.callbackReceive))
	s.apiRoutes(r) // signed machine calls: outside sessions and the cross-origin check

	if s.Sessions != nil {
		s.pageRoutes(r)
	}

	if s.Simulator != nil {
		mount := strings.TrimSuffix(s.SimulatorMount, "/")
		sim := gin.WrapH(http.StripPrefix(mount, s.Simulator))
		r.Any(mount+"/*path", sim)
	}
	if s.SMSSim != nil {
		mount := strings.TrimSuffix(s.SMSSimMount, "/")
		r.GET(mount, func(c *gin.Context) { c.Redirect(http.StatusFound, mount+"/") })
		r.Any(mount+"/*path", gin.WrapH(http.StripPrefix(mount, s.SMSSim)))
	}
	if s.CASSim != nil {
		mount := strings.TrimSuffix(s.CASSimMount, "/")
		r.Any(mount+"/*path", gin.WrapH(http.StripPrefix(mount, s.CASSim)))
	}
}

// pageRoutes are the H5 pages, sign-in and the admin console. Forms are
// guarded against cross-site requests by http.CrossOriginProtection (it
// reads Sec-Fetch-Site and Origin; SameSite=Lax cookies are the second
// line).
func (s *server) pageRoutes(r *gin.Engine) {
	cop := http.NewCrossOriginProtection()
	csrf := func(c *gin.Context) {
		if err := cop.Check(c.Request); err != nil {
			c.String(http.StatusForbidden, "cross-site request refused")
			c.Abort()
			return
		}
		c.Next()
	}
	r.GET("/login", s.wrap(s.login))
	r.GET("/join", s.wrap(s.joinPage))
	r.GET("/sso/serviceValidate", s.wrap(s.ssoValidate))
	r.GET("/sso/p3/serviceValidate", s.wrap(s.ssoValidate))
	a := r.Group("/auth", csrf)
	a.GET("/wecom", s.wrap(s.oauthStart))
	a.GET("/wecom/callback", s.wrap(s.oauthCallback))
	a.GET("/qr", s.wrap(s.qrStart))
	a.GET("/qr/callback", s.wrap(s.qrCallback))
	a.GET("/cas", s.wrap(s.casStart))
	a.GET("/cas/callback", s.wrap(s.casCallback))
	a.POST("/logout", s.wrap(s.logout))

	r.GET("/register", s.wrap(s.registerPage))
	reg := r.Group("/register", csrf)
	reg.GET("/qr.png", s.wrap(s.registerQR))
	reg.GET("/poster", s.wrap(s.registerPoster))
	reg.GET("/start", s.wrap(s.registerStart))
	reg.GET("/cas/callback", s.wrap(s.registerCallback))
	reg.GET("/form", s.wrap(s.registerForm))
	reg.POST("/form", s.wrap(s.registerSubmit))

	// guest sign-in (off-campus applicants)
	gst := r.Group("/guest", csrf)
	gst.GET("/login", s.wrap(s.guestLoginPage))
	gst.POST("/code", s.wrap(s.guestSendCode))
	gst.POST("/login", s.wrap(s.guestLogin))
	// end guest sign-in

	r.GET("/app", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/app/") })
	app := r.Group("/app", csrf, s.requireMember)
	app.GET("/", s.wrap(s.appHome))
	app.POST("/identity", s.wrap(s.appIdentity))
	app.POST("/fav", s.wrap(s.appFavourite))
	app.GET("/search", s.wrap(s.appSearch))
	app.GET("/m/:key", s.wrap(s.appModule))
	app.GET("/go/:key", s.wrap(s.appGo))
	app.GET("/campus/:key", s.wrap(s.appContent))
	app.GET("/m/messages", s.wrap(s.appMessagesModule))
	app.GET("/messages", s.wrap(s.appMessages))
	app.GET("/messages/:id", s.wrap(s.appMessage))

	// service hall (H5)
	r.GET("/hall", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/hall/") })
	hl := r.Group("/hall", csrf, s.hallSession)
	hl.GET("/", s.wrap(s.hallHome))
	hl.GET("/apply/:key", s.wrap(s.hallApplyPage))
	hl.POST("/apply/:key", s.wrap(s.hallApply))
	hl.GET("/my", s.wrap(s.hallMy))
	hl.GET("/a/:id", s.wrap(s.hallApp))
	hl.GET("/applications/:id", s.wrap(s.hallApplicationsRedirect))
	hl.POST("/a/:id/withdraw", s.hallApplicantAction(func(ctx context.Context, id int64, v hall.Viewer) error { return s.Hall.Withdraw(ctx, id, v) }, "已撤回申请"))
	hl.POST("/a/:id/urge", s.hallApplicantAction(func(ctx context.Context, id int64, v hall.Viewer) error { return s.Hall.Urge(ctx, id, v) }, "已催办，审批人会收到提醒"))
	hl.POST("/a/:id/confirm", s.hallApplicantAction(func(ctx context.Context, id int64, v hall.Viewer) error { return s.Hall.ConfirmReturn(ctx, id, v) }, "已确认返校"))
	hl.GET("/a/:id/resubmit", s.wrap(s.hallResubmitPage))
	hl.POST("/a/:id/resubmit", s.wrap(s.hallResubmit))
	hl.GET("/tasks", s.wrap(s.hallTasks))
	hl.GET("/tasks/:id", s.wrap(s.hallTask))
	hl.POST("/tasks/:id/decide", s.wrap(s.hallDecide))
	hl.POST("/tasks/:id/transfer", s.wrap(s.hallTransfer))
	hl.POST("/tasks/:id/add", s.wrap(s.hallAddApprover))
	app.GET("/m/approvals", s.wrap(s.appApprovalsModule))
	// end service hall (H5)
	// service hall (files)
	hl.POST("/files", s.wrap(s.hallUpload))
	hl.GET("/files/:token", s.wrap(s.hallFile))
	// end service hall (files)

	r.GET("/admin", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/admin/") })
	ad := r.Group("/admin", csrf, s.requireMember, s.requireAdmin)
	ad.GET("/", s.wrap(s.adminHome))
	ad.GET("/roles", s.wrap(s.adminRoles))
	ad.POST("/roles", s.wrap(s.adminSaveRole))
	ad.GET("/workbenches", s.wrap(s.adminWorkbenches))
	ad.POST("/workbenches", s.wrap(s.adminSaveWorkbench))
	ad.GET("/workbenches/:key", s.wrap(s.adminWorkbench))
	ad.POST("/workbenches/:key", s.wrap(s.adminSaveWorkbench))
	ad.POST("/workbenches/:key/sections", s.wrap(s.adminAddSection))
	ad.POST("/workbenches/:key/sections/:id", s.wrap(s.adminSaveSection))
	ad.POST("/workbenches/:key/sections/:id/delete", s.wrap(s.adminDeleteSection))
	ad.POST("/workbenches/:key/tiles", s.wrap(s.adminAddTile))
	ad.POST("/workbenches/:key/tiles/:id", s.wrap(s.adminSaveTile))
	ad.POST("/workbenches/:key/tiles/:id/delete", s.wrap(s.adminDeleteTile))
	ad.GET("/modules", s.wrap(s.adminModules))
	ad.POST("/modules", s.wrap(s.adminSaveModule))
	ad.GET("/preview", s.wrap(s.adminPreview))
	ad.GET("/content", s.wrap(s.adminContent))
	ad.GET("/content/:key", s.wrap(s.adminContentEdit))
	ad.POST("/content/:key", s.wrap(s.adminSaveContent))
	ad.GET("/grants", s.wrap(s.adminGrants))
	ad.POST("/grants", s.wrap(s.adminGrant))
	ad.POST("/grants/revoke", s.wrap(s.adminRevoke))
	ad.GET("/audit", s.wrap(s.adminAudit))
	ad.GET("/sync", s.wrap(s.adminSync))
	ad.POST("/sync/dry-run", s.wrap(s.adminSyncDryRun))
	ad.POST("/sync/run", s.wrap(s.adminSyncRun))
	ad.GET("/sync/:id", s.wrap(s.adminSyncRunPage))
	ad.GET("/sync/:id/plan.jsonl.gz", s.wrap(s.adminSyncPlan))
	ad.POST("/sync/:id/confirm", s.wrap(s.adminSyncConfirm))
	ad.GET("/tagrules", s.wrap(s.adminTagRules))
	ad.POST("/tagrules", s.wrap(s.adminSaveTagRule))
	ad.POST("/tagrules/preview", s.wrap(s.adminPreviewTagRule))
	ad.POST("/tagrules/delete", s.wrap(s.adminDeleteTagRule))
	ad.GET("/messages", s.wrap(s.adminMessages))
	ad.POST("/messages", s.wrap(s.adminMessagesPost))
	ad.POST("/messages/count", s.wrap(s.adminMessagesCount))
	ad.GET("/messages/:id", s.wrap(s.adminMessage))
	ad.POST("/messages/:id/recall", s.wrap(s.adminRecallMessage))
	ad.POST("/messages/drafts/:id/approve", s.wrap(s.adminApproveDraft))
	ad.POST("/messages/drafts/:id/reject", s.wrap(s.adminRejectDraft))
	ad.GET("/reminders", s.wrap(s.adminReminders))
	ad.POST("/reminders", s.wrap(s.adminSaveReminder))
	ad.POST("/reminders/:id/enabled", s.wrap(s.adminReminderEnabled))
	ad.POST("/reminders/:id/delete", s.wrap(s.adminDeleteReminder))
	ad.POST("/reminders/:id/send", s.wrap(s.adminSendReminder))
	ad.POST("/reminders/:id/approve", s.wrap(s.adminApproveReminder))
	ad.GET("/channels", s.wrap(s.adminChannels))
	ad.POST("/channels", s.wrap(s.adminSaveChannel))
	ad.GET("/calendar", s.wrap(s.adminCalendar))
	ad.POST("/calendar/periods", s.wrap(s.adminSaveCalendarPeriod))
	ad.POST("/calendar/periods/delete", s.wrap(s.adminDeleteCalendarPeriod))
	// service hall (console)
	ad.GET("/hall", s.wrap(s.adminHall))
	ad.GET("/hall/new", s.wrap(s.adminHallEdit))
	ad.POST("/hall/new", s.wrap(s.adminHallSave))
	ad.GET("/hall/stats", s.wrap(s.adminHallStats))
	ad.GET("/hall/a", s.wrap(s.adminHallFind))
	ad.GET("/hall/a/:id", s.wrap(s.adminHallApplication))
	ad.POST("/hall/a/:id/reassign", s.wrap(s.adminHallReassign))
	ad.GET("/hall/:key/edit", s.wrap(s.adminHallEdit))
	ad.POST("/hall/:key/edit", s.wrap(s.adminHallSave))
	ad.GET("/hall/:key/simulate", s.wrap(s.adminHallSimulate))
	// end service hall (console)
	// attendance (console)
	ad.GET("/attendance", s.wrap(s.adminAttendance))
	ad.POST("/attendance/pull", s.wrap(s.adminAttendancePull))
	ad.GET("/attendance/export", s.wrap(s.adminAttendanceExport))
	// end attendance (console)
	// data modules
	// A data module's list is /app/m/{key} (appModule hands it to
	// appDataModule); a row in full:
	app.GET("/m/:key/r/:row", s.wrap(s.appDataRow))
	ad.GET("/data", s.wrap(s.adminData))
	ad.GET("/data/:key", s.wrap(s.adminDataEdit))
	ad.POST("/data/:key", s.wrap(s.adminDataSave))
	ad.GET("/data/:key/preview", s.wrap(s.adminDataPreview))
	// end data modules
}
