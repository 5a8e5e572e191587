// Package config loads config.yaml, applies WECOMAPP_* environment
// overrides and *_FILE secrets, and validates everything at once so a bad
// deployment stops at start-up with every problem named.
//
// Only cmd/wecomapp imports config; every other package takes its own
// Options struct built from it.
package config

import (
	"time"
)

// EnvPrefix starts every environment override: server.addr is
// WECOMAPP_SERVER_ADDR, wecom.apps[name=hall].secret is
// WECOMAPP_WECOM_APPS_HALL_SECRET.
const EnvPrefix = "WECOMAPP"

// Config is the whole configuration. Field tags: yaml is the key in
// config.yaml; secret fields are Secret values that come only from the
// environment or a file.
type Config struct {
	Server    Server    `yaml:"server"`
	Log       Log       `yaml:"log"`
	Database  Database  `yaml:"database"`
	Redis     Redis     `yaml:"redis"`
	WeCom     WeCom     `yaml:"wecom"`
	Simulator Simulator `yaml:"simulator"`
	Inbox     Inbox     `yaml:"inbox"`
	Security  Security  `yaml:"security"`
	Auth      Auth      `yaml:"auth"`
	Sync      Sync      `yaml:"sync"`
	SelfReg   SelfReg   `yaml:"selfreg"`
	Notify    Notify    `yaml:"notify"`
	SMS       SMS       `yaml:"sms"`
	API       API       `yaml:"api"`
	Shared    Shared    `yaml:"shared"`

	Attendance Attendance `yaml:"attendance"`
}

// Server is the HTTP server.
type Server struct {
	Addr                 string        `yaml:"addr"`
	PublicURL            string        `yaml:"public_url"`
	ShutdownTimeout      time.Duration `yaml:"shutdown_timeout"`
	ReadHeaderTimeout    time.Duration `yaml:"read_header_timeout"`
	ReadTimeout          time.Duration `yaml:"read_timeout"`
	IdleTimeout          time.Duration `yaml:"idle_timeout"`
	MaxCallbackReaders   int           `yaml:"max_callback_readers"`
	CallbackStoreTimeout time.Duration `yaml:"callback_store_timeout"`
	TrustedProxies       []string      `yaml:"trusted_proxies"`
	MetricsAddr          string        `yaml:"metrics_addr"`
	MetricsAllow         []string      `yaml:"metrics_allow"`
}

// Log is the zap logger.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Database is the SQL store.
type Database struct {
	Driver          string        `yaml:"driver"`
	DSN             Secret        `yaml:"dsn" secret:"soft"`
	MaxOpenConns    int           `yaml:"max_open_conns"`
	MaxIdleConns    int           `yaml:"max_idle_conns"`
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`
	MigrateOnStart  bool          `yaml:"migrate_on_start"`
}

// Redis is the coordination layer's backend; an empty Addr selects the
// in-process implementation.
type Redis struct {
	Addr     string `yaml:"addr"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	DB       int    `yaml:"db"`
	Prefix   string `yaml:"prefix"`
}

// WeCom is the corp and its receivers.
type WeCom struct {
	CorpID      string        `yaml:"corp_id"`
	APIBase     string        `yaml:"api_base"`
	OAuthBase   string        `yaml:"oauth_base"`
	LoginBase   string        `yaml:"login_base"`
	HTTPTimeout time.Duration `yaml:"http_timeout"`
	Contacts    Receiver      `yaml:"contacts"`
	Apps        []App         `yaml:"apps" key:"name"`
}

// Receiver is a secret plus its callback credentials.
type Receiver struct {
	Secret         Secret `yaml:"secret"`
	Token          Secret `yaml:"token"`
	EncodingAESKey Secret `yaml:"encoding_aes_key"`
}

// App is one self-built application.
type App struct {
	Name     string `yaml:"name"`
	AgentID  int64  `yaml:"agent_id"`
	Title    string `yaml:"title"`
	Receiver `yaml:",inline"`
}

// Simulator mounts the built-in WeCom simulator.
type Simulator struct {
	Enabled bool   `yaml:"enabled"`
	Mount   string `yaml:"mount"`
	Seed    string `yaml:"seed"`
	// Legacy reproduces the rules of corps set up before mid-2022; the
	// default is today's WeCom (wecomsim.Options.Legacy).
	Legacy bool `yaml:"legacy"`
	// AllowPublic lets serve mount the simulator where it refuses to by
	// default: a non-loopback listen address, MySQL, Redis or an explicit
	// wecom.api_base. It logs a warning and every page shows a banner.
	AllowPublic bool `yaml:"allow_public"`
	// CallbackURLs are further URLs the simulator may POST callbacks to,
	// besides this server's own receivers (e.g. a test receiver).
	CallbackURLs    []string      `yaml:"callback_urls"`
	CallbackRetries int           `yaml:"callback_retries"`
	CallbackTimeout time.Duration `yaml:"callback_timeout"`
	// Restricted is the removed key simulator.restricted (today's rules are
	// the default now): present, it stops start-up with a pointer to
	// simulator.legacy instead of a bare "unknown field".
	Restricted *bool `yaml:"restricted,omitempty"`
}

// Inbox is the callback inbox dispatcher.
type Inbox struct {
	Workers     int           `yaml:"workers"`
	Lease       time.Duration `yaml:"lease"`
	MaxAttempts int           `yaml:"max_attempts"`
	Poll        time.Duration `yaml:"poll"`
	// Retention is how long done and skipped callbacks are kept (dead ones
	// stay until requeued or purged); never under 1h, so a re-delivery or a
	// replay always meets its row.
	Retention time.Duration `yaml:"retention"`
}

// Security holds keys that protect stored data.
type Security struct {
	// DataKey seals sensitive columns (store.Sealer): new values are
	// sealed under it.
	DataKey Secret `yaml:"data_key"`
	// PreviousDataKeys are keys being rotated out, comma-separated: values
	// sealed under them still open until wecomapp rekey re-seals them.
	PreviousDataKeys Secret `yaml:"previous_data_keys"`
}

// Auth is signing people in: sessions, CAS single sign-on and the first
// admins.
type Auth struct {
	// IdleTimeout ends a session unused for this long; Lifetime ends it this
	// long after sign-in however busy.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	Lifetime    time.Duration `yaml:"lifetime"`
	// CASURL is the university's CAS server (e.g.
	// https://cas.example.edu.cn/cas). Empty with the simulator on: the
	// built-in CAS simulator; empty otherwise: no CAS sign-in.
	CASURL string `yaml:"cas_url"`
	// CASName is how the sign-in page names it.
	CASName string `yaml:"cas_name"`
	// CASProtocol is 3 (p3/serviceValidate, with attributes) or 2
	// (serviceValidate).
	CASProtocol int `yaml:"cas_protocol"`
	// SuperAdmins are userids granted the super-admin role at start
	// (audited as "system"); further admins are granted in the console.
	SuperAdmins []string `yaml:"super_admins"`
}

// Sync is the contacts sync: when it runs and how careful it is.
type Sync struct {
	// Schedule is when the nightly sync runs, in cron syntax (minute hour
	// day month weekday), after the data center's nightly distribution.
	// Empty: no schedule (run `wecomapp sync` from the system's cron).
	Schedule string `yaml:"schedule"`
	// MaxShare is the share of members or departments a run may disable or
	// delete before the guard stops it for a confirmation.
	MaxShare float64 `yaml:"max_share"`
	// Grace is how long a leaver stays disabled before being deleted; 0
	// deletes no member.
	Grace time.Duration `yaml:"grace"`
	// ManageAll lets the sync change members and departments the data
	// center did not create (made in the console by someone else).
	ManageAll bool `yaml:"manage_all"`
	// Drift is what a run does with an object changed in the console since
	// it was written: reassert (write the data center's values back) or
	// report (leave it and list it in the run's report).
	Drift string `yaml:"drift"`
	// Batch lets a first load use WeCom's asynchronous import jobs.
	Batch bool `yaml:"batch"`
	// Members is who becomes a member: all (every data-center person) or
	// registered (only people who registered themselves, the university
	// having turned WeCom's invitations off).
	Members string `yaml:"members"`
	// OnStart runs a sync when the platform starts with an empty mirror
	// (the demo's first load).
	OnStart bool `yaml:"on_start"`
	// ClassGroups keeps a group chat per class (students and counselor)
	// in step after each run, owned by the first app of wecom.apps, whose
	// visible range must be the whole corp.
	ClassGroups bool `yaml:"class_groups"`
}

// SelfReg is self-registration (/register): how teachers and students join
// the school's WeCom when its invitations are off.
type SelfReg struct {
	Enabled bool `yaml:"enabled"`
	// PerPerson and PerIP are attempts an hour. Campus Wi-Fi puts many
	// people behind few addresses in freshman week: PerIP is generous.
	PerPerson int `yaml:"per_person"`
	PerIP     int `yaml:"per_ip"`
	// DeptAttribute is the CAS attribute holding the person's department
	// code, checked against the data center; empty skips that check.
	DeptAttribute string `yaml:"dept_attribute"`
	// Welcome is the app message sent once a person joined; {name} is
	// replaced by their name.
	Welcome string `yaml:"welcome"`
}

// Notify is the message center's dispatcher.
type Notify struct {
	// ChunkSize is how many members one message/send call names (WeCom
	// takes 1,000).
	ChunkSize int `yaml:"chunk_size"`
	// Lease is how long a dispatcher owns the chunk it is sending: after a
	// crash another takes it over then.
	Lease time.Duration `yaml:"lease"`
	// PerMinute and PerHour are WeCom's limits of app messages to one
	// member; the governor keeps every instance within them together.
	PerMinute int `yaml:"per_minute"`
	PerHour   int `yaml:"per_hour"`
	// DailyQuota is the app's messages a day, everyone together (WeCom:
	// the corp's member cap × 200); 0 derives it as 200 a member.
	DailyQuota int `yaml:"daily_quota"`
	// BroadcastApproval is the reach above which a console broadcast waits
	// for a second admin's approval; 0 never asks.
	BroadcastApproval int `yaml:"broadcast_approval"`
}

// SMS is the gateway that reaches people outside WeCom (applicants,
// parents, off-campus users).
type SMS struct {
	// Provider is sim (the built-in simulated gateway, its page at
	// /smssim), tencent (Tencent Cloud SMS), or "": the simulated gateway
	// when the simulator is on, none otherwise (SMS recipients then fail).
	Provider string `yaml:"provider"`
	// SignName is the approved signature (签名), without 【】.
	SignName string `yaml:"sign_name"`
	// NoticeTemplate is the approved template every notice goes through:
	// its id and its text with {1} for the notice's title.
	NoticeTemplateID   string `yaml:"notice_template_id"`
	NoticeTemplateText string `yaml:"notice_template_text"`
	// CodeTemplateID and CodeTemplateText are the approved verification-code
	// template off-campus sign-in (package guest) texts codes through: {1}
	// the code, {2} the minutes it is good for (default text
	// guest.DefaultTemplateText). Without an id guest sign-in is off,
	// except on the simulated gateway, which takes any id.
	CodeTemplateID   string `yaml:"code_template_id"`
	CodeTemplateText string `yaml:"code_template_text"`
	// ParamMaxChars is the template variable's limit as the SMS console
	// shows it; longer titles are cut with "…". 0: no limit of ours.
	ParamMaxChars int        `yaml:"param_max_chars"`
	Tencent       TencentSMS `yaml:"tencent"`
}

// TencentSMS is Tencent Cloud SMS (SendSms 2021-01-11).
type TencentSMS struct {
	SecretID  Secret        `yaml:"secret_id"`
	SecretKey Secret        `yaml:"secret_key"`
	Region    string        `yaml:"region"`
	SdkAppID  string        `yaml:"sdk_app_id"`
	Endpoint  string        `yaml:"endpoint"` // "" = sms.tencentcloudapi.com
	Timeout   time.Duration `yaml:"timeout"`
}

// API is the ingest API business systems send messages through.
type API struct {
	// MaxBody caps a request's body in bytes (413 past it).
	MaxBody int64 `yaml:"max_body"`
}

// Shared is the university's shared database (the data center's
// integration of the business systems: timetables, scores, the library,
// the network, the campus card, salaries, research) that the workbench's
// data modules read (package datamod), through its own connection.
type Shared struct {
	// Driver is sqlite (the demo's file) or mysql.
	Driver string `yaml:"driver"`
	// DSN: SQLite a file, opened read-only (the default data/shared.db is
	// the demo's, created by serve with the simulator on when absent);
	// MySQL a DSN of a read-only account (GRANT SELECT only), given in
	// WECOMAPP_SHARED_DSN since it holds a password. Empty: no shared
	// database, and the data modules' tiles and pages say 暂时无法使用.
	DSN          Secret `yaml:"dsn" secret:"soft"`
	MaxOpenConns int    `yaml:"max_open_conns"`
}

// Attendance is the personnel office's attendance (package attendance):
// the monthly job that pulls the previous month's punch records from
// WeCom's checkin APIs and keeps its Excel workbook for download.
type Attendance struct {
	// Schedule is when the monthly job runs, in cron syntax (minute hour
	// day month weekday, Beijing time). Empty: no monthly job (pull and
	// export from the console's 考勤统计 page).
	Schedule string `yaml:"schedule"`
}

// Defaults is the embedded default: SQLite under ./data, in-process
// coordination, the built-in simulator. config.yaml repeats these values
// so that the file documents them.
func Defaults() Config {
	return Config{
		Server: Server{
			Addr:                 "127.0.0.1:8080",
			ShutdownTimeout:      10 * time.Second,
			ReadHeaderTimeout:    5 * time.Second,
			ReadTimeout:          10 * time.Second,
			IdleTimeout:          120 * time.Second,
			MaxCallbackReaders:   256,
			CallbackStoreTimeout: 3 * time.Second,
			MetricsAllow:         []string{"127.0.0.0/8", "::1/128"},
		},
		Log:      Log{Level: "info", Format: "console"},
		Database: Database{Driver: "sqlite", DSN: Secret{value: "file:data/wecomapp.db"}, MaxOpenConns: 0, MaxIdleConns: 0, ConnMaxLifetime: 5 * time.Minute, MigrateOnStart: true},
		Redis:    Redis{Prefix: "wecomapp:"},
		WeCom: WeCom{
			CorpID:      "wwdemo0000000001",
			HTTPTimeout: 10 * time.Second,
			Apps:        []App{{Name: "hall", AgentID: 1000002, Title: "一站式服务大厅"}},
		},
		Simulator: Simulator{Enabled: true, Mount: "/wecomsim", Seed: "demo", CallbackRetries: 3, CallbackTimeout: 5 * time.Second},
		Inbox:     Inbox{Workers: 4, Lease: 30 * time.Second, MaxAttempts: 15, Poll: 500 * time.Millisecond, Retention: 30 * 24 * time.Hour},
		Auth:      Auth{IdleTimeout: 2 * time.Hour, Lifetime: 12 * time.Hour, CASName: "统一身份认证", CASProtocol: 3},
		API:       API{MaxBody: 64 << 10},
		Shared:    Shared{Driver: "sqlite", DSN: Secret{value: "file:data/shared.db"}},
		SMS: SMS{SignName: "示范大学", NoticeTemplateID: "2001", NoticeTemplateText: "您有一条新通知：{1}。请登录学校服务大厅查看。",
			Tencent: TencentSMS{Region: "ap-guangzhou", Timeout: 10 * time.Second}},
		Notify: Notify{ChunkSize: 1000, Lease: time.Minute, PerMinute: 30, PerHour: 1000, BroadcastApproval: 1000},
		SelfReg: SelfReg{Enabled: true, PerPerson: 5, PerIP: 300,
			Welcome: "{name}，欢迎加入学校企业微信！在企业微信的工作台打开「一站式服务大厅」办理业务。想在个人微信里使用：企业微信 → 我 → 设置 → 微信插件 → 扫码关注，之后在微信「通讯录 → 我的企业」里就能进入。"},
		Sync: Sync{Schedule: "30 5 * * *", MaxShare: 0.05, Grace: 30 * 24 * time.Hour, Drift: "reassert", Batch: true, Members: "all", OnStart: true, ClassGroups: true},

		Attendance: Attendance{Schedule: "0 3 1 * *"},
	}
}
