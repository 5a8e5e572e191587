package config

import (
	"github.com/robfig/cron/v3"

	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

var (
	appNameRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	corpIDRe  = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)
	tokenRe   = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)
)

// Example values used in messages. They are the official test vector's,
// public and useless for any real corp.
const (
	exampleAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	exampleDSN    = "wecomapp:password@tcp(127.0.0.1:3306)/wecomapp?parseTime=true"
)

// validate checks every setting and derives the few that default from
// others (public_url from addr).
func validate(c *Config) []Problem {
	var ps []Problem
	add := func(key, source, problem, example string) {
		ps = append(ps, Problem{Key: key, Source: source, Problem: problem, Example: example})
	}

	if _, port, err := net.SplitHostPort(c.Server.Addr); err != nil {
		add("server.addr", "", fmt.Sprintf("%q is not host:port", c.Server.Addr), "127.0.0.1:8080 or :8080")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		add("server.addr", "", fmt.Sprintf("port %q is not a number from 0 to 65535", port), ":8080")
	}
	if c.Server.PublicURL == "" {
		c.Server.PublicURL = defaultPublicURL(c.Server.Addr)
	} else if u, err := url.Parse(c.Server.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("server.public_url", "", fmt.Sprintf("%q is not an absolute http(s) URL", c.Server.PublicURL), "https://hall.example.edu.cn")
	} else {
		c.Server.PublicURL = strings.TrimRight(c.Server.PublicURL, "/")
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			add(key, "", fmt.Sprintf("%v must be a positive duration", d), "10s")
		}
	}
	positive("server.shutdown_timeout", c.Server.ShutdownTimeout)
	positive("server.read_header_timeout", c.Server.ReadHeaderTimeout)
	positive("server.idle_timeout", c.Server.IdleTimeout)
	positive("server.read_timeout", c.Server.ReadTimeout)
	if c.Server.ReadTimeout > 0 && c.Server.ReadTimeout < c.Server.ReadHeaderTimeout {
		add("server.read_timeout", "", fmt.Sprintf("%v is shorter than server.read_header_timeout (%v); it bounds headers and body together", c.Server.ReadTimeout, c.Server.ReadHeaderTimeout), "10s")
	}
	if c.Server.MaxCallbackReaders < 1 || c.Server.MaxCallbackReaders > 65536 {
		add("server.max_callback_readers", "", fmt.Sprintf("%d is outside 1..65536", c.Server.MaxCallbackReaders), "256")
	}
	// WeCom stops waiting after 5 s; an answer later than that is wasted.
	if d := c.Server.CallbackStoreTimeout; d <= 0 || d >= 5*time.Second {
		add("server.callback_store_timeout", "", fmt.Sprintf("%v must be positive and under WeCom's 5s answer deadline", d), "3s")
	}
	if a := c.Server.MetricsAddr; a != "" {
		if _, port, err := net.SplitHostPort(a); err != nil {
			add("server.metrics_addr", "", fmt.Sprintf("%q is not host:port", a), "127.0.0.1:9100")
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add("server.metrics_addr", "", fmt.Sprintf("port %q is not a number from 0 to 65535", port), "127.0.0.1:9100")
		} else if a == c.Server.Addr && n != 0 {
			add("server.metrics_addr", "", "is the same as server.addr; give metrics their own port or leave it empty", "127.0.0.1:9100")
		}
	}
	for _, n := range c.Server.MetricsAllow {
		if _, err := netip.ParsePrefix(n); err != nil {
			add("server.metrics_allow", "", fmt.Sprintf("%q is not a network in CIDR form", n), "10.0.0.0/8 or 192.0.2.7/32")
		}
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "", fmt.Sprintf("%q is not a level", c.Log.Level), "debug, info, warn or error")
	}
	switch c.Log.Format {
	case "console", "json":
	default:
		add("log.format", "", fmt.Sprintf("%q is not a format", c.Log.Format), "console (local) or json (production)")
	}

	ps = append(ps, validateDatabase(&c.Database)...)
	ps = append(ps, validateShared(&c.Shared)...)
	if c.Attendance.Schedule != "" {
		if _, err := cron.ParseStandard(c.Attendance.Schedule); err != nil {
			add("attendance.schedule", "", fmt.Sprintf("%q is not a cron schedule (minute hour day month weekday): %v", c.Attendance.Schedule, err), "0 3 1 * * (03:00 on the 1st)")
		}
	}

	if c.Redis.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Redis.Addr); err != nil {
			add("redis.addr", "", fmt.Sprintf("%q is not host:port", c.Redis.Addr), "127.0.0.1:6379")
		}
	}
	if c.Redis.DB < 0 || c.Redis.DB > 15 {
		add("redis.db", "", fmt.Sprintf("%d is outside 0..15", c.Redis.DB), "0")
	}

	ps = append(ps, validateWeCom(&c.WeCom, c.Simulator.Enabled)...)

	if c.Simulator.Enabled {
		if !strings.HasPrefix(c.Simulator.Mount, "/") || strings.HasSuffix(c.Simulator.Mount, "/") || len(c.Simulator.Mount) < 2 {
			add("simulator.mount", "", fmt.Sprintf("%q must start with / and not end with /", c.Simulator.Mount), "/wecomsim")
		}
		switch c.Simulator.Seed {
		case "demo", "full", "empty":
		default:
			add("simulator.seed", "", fmt.Sprintf("%q is not a seed", c.Simulator.Seed), "demo (a small university), full (36,000 people) or empty")
		}
		if c.Simulator.CallbackRetries < 0 || c.Simulator.CallbackRetries > 10 {
			add("simulator.callback_retries", "", fmt.Sprintf("%d is outside 0..10", c.Simulator.CallbackRetries), "3")
		}
		positive("simulator.callback_timeout", c.Simulator.CallbackTimeout)
		for _, u := range c.Simulator.CallbackURLs {
			if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				add("simulator.callback_urls", "", fmt.Sprintf("%q is not an absolute http(s) URL", u), "http://127.0.0.1:9000/callback")
			}
		}
	}
	if r := c.Simulator.Restricted; r != nil {
		example := "simulator.legacy: true (the pre-2022 rules), or remove the key"
		if !*r {
			example = "remove the key (today's rules are the default)"
		}
		add("simulator.restricted", "", "was removed: the simulator now follows today's WeCom by default; the old behaviour is simulator.legacy", example)
	}

	if c.Inbox.Workers < 0 || c.Inbox.Workers > 256 {
		add("inbox.workers", "", fmt.Sprintf("%d is outside 0..256 (0: this instance only accepts callbacks)", c.Inbox.Workers), "4")
	}
	if c.Inbox.Lease < 5*time.Second {
		add("inbox.lease", "", fmt.Sprintf("%v is shorter than 5s; a slow handler would be run twice", c.Inbox.Lease), "30s")
	}
	if c.Inbox.MaxAttempts < 1 || c.Inbox.MaxAttempts > 100 {
		add("inbox.max_attempts", "", fmt.Sprintf("%d is outside 1..100", c.Inbox.MaxAttempts), "15")
	}
	positive("inbox.poll", c.Inbox.Poll)
	// A finished row is what recognises a re-delivery or a replay of its
	// callback: it must outlive WeCom's retries and the callback freshness
	// window by far (inbox.MinRetention).
	if c.Inbox.Retention < time.Hour {
		add("inbox.retention", "", fmt.Sprintf("%v is shorter than 1h; a late re-delivery or a replay would be processed again", c.Inbox.Retention), "720h (30 days)")
	}

	if c.Auth.IdleTimeout < time.Minute {
		add("auth.idle_timeout", "", fmt.Sprintf("%v is shorter than 1m", c.Auth.IdleTimeout), "2h")
	}
	if c.Auth.Lifetime < c.Auth.IdleTimeout {
		add("auth.lifetime", "", fmt.Sprintf("%v is shorter than auth.idle_timeout (%v)", c.Auth.Lifetime, c.Auth.IdleTimeout), "12h")
	}
	if u := c.Auth.CASURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || pu.RawQuery != "" {
			add("auth.cas_url", "", fmt.Sprintf("%q is not an absolute http(s) URL without a query", u), "https://cas.example.edu.cn/cas")
		}
	}
	if c.Auth.CASProtocol != 2 && c.Auth.CASProtocol != 3 {
		add("auth.cas_protocol", "", fmt.Sprintf("%d is not 2 or 3", c.Auth.CASProtocol), "3")
	}
	for _, id := range c.Auth.SuperAdmins {
		if id == "" || len(id) > 64 || strings.ContainsAny(id, " ,") {
			add("auth.super_admins", "", fmt.Sprintf("%q is not a userid", id), "T00042")
		}
	}

	if c.Sync.Schedule != "" {
		if _, err := cron.ParseStandard(c.Sync.Schedule); err != nil {
			add("sync.schedule", "", fmt.Sprintf("%q is not a cron schedule: %v", c.Sync.Schedule, err), "30 5 * * * (05:30 every day)")
		}
	}
	if c.Sync.MaxShare <= 0 || c.Sync.MaxShare > 1 {
		add("sync.max_share", "", fmt.Sprintf("%v is outside (0, 1]", c.Sync.MaxShare), "0.05")
	}
	if c.Sync.Grace < 0 {
		add("sync.grace", "", fmt.Sprintf("%v is negative", c.Sync.Grace), "720h (30 days)")
	}
	if c.Sync.Drift != "reassert" && c.Sync.Drift != "report" {
		add("sync.drift", "", fmt.Sprintf("%q is not reassert or report", c.Sync.Drift), "reassert")
	}
	if c.Sync.Members != "all" && c.Sync.Members != "registered" {
		add("sync.members", "", fmt.Sprintf("%q is not all or registered", c.Sync.Members), "all")
	}

	if c.API.MaxBody < 1024 || c.API.MaxBody > 16<<20 {
		add("api.max_body", "", fmt.Sprintf("%d is outside 1 KiB..16 MiB", c.API.MaxBody), "65536")
	}
	if c.Notify.ChunkSize < 1 || c.Notify.ChunkSize > 1000 {
		add("notify.chunk_size", "", fmt.Sprintf("%d is outside 1..1000 (WeCom's limit per call)", c.Notify.ChunkSize), "1000")
	}
	if c.Notify.Lease < time.Second {
		add("notify.lease", "", fmt.Sprintf("%v is shorter than 1s", c.Notify.Lease), "60s")
	}
	if c.Notify.PerMinute < 1 || c.Notify.PerMinute > 30 || c.Notify.PerHour < 1 || c.Notify.PerHour > 1000 {
		add("notify.per_minute", "", fmt.Sprintf("%d a minute and %d an hour: WeCom drops beyond 30 and 1,000", c.Notify.PerMinute, c.Notify.PerHour), "30 and 1000")
	}
	switch c.SMS.Provider {
	case "", "sim":
		if c.SMS.Provider == "sim" && !c.Simulator.Enabled {
			add("sms.provider", "", "sim (the simulated gateway) with the simulator off: texts would reach nobody", "tencent, or empty for no SMS")
		}
	case "tencent":
		if !c.SMS.Tencent.SecretID.IsSet() || !c.SMS.Tencent.SecretKey.IsSet() {
			add("sms.tencent.secret_id", "", "and secret_key are required for Tencent Cloud SMS; set WECOMAPP_SMS_TENCENT_SECRET_ID and WECOMAPP_SMS_TENCENT_SECRET_KEY (or _FILE)", "the API key of a CAM user allowed sms:SendSms")
		}
		if c.SMS.Tencent.SdkAppID == "" || c.SMS.SignName == "" || c.SMS.NoticeTemplateID == "" || !strings.Contains(c.SMS.NoticeTemplateText, "{1}") {
			add("sms.tencent.sdk_app_id", "", "Tencent Cloud SMS needs sdk_app_id, sign_name, notice_template_id and notice_template_text with {1}", "1400000000")
		}
	default:
		add("sms.provider", "", fmt.Sprintf("%q is not sim, tencent or empty", c.SMS.Provider), "tencent")
	}
	if c.SelfReg.PerPerson < 1 || c.SelfReg.PerPerson > 100 {
		add("selfreg.per_person", "", fmt.Sprintf("%d is outside 1..100", c.SelfReg.PerPerson), "5")
	}
	if c.SelfReg.PerIP < 1 {
		add("selfreg.per_ip", "", fmt.Sprintf("%d is below 1", c.SelfReg.PerIP), "300")
	}

	if k := c.Security.DataKey; k.IsSet() {
		if _, err := DecodeDataKey(k.Value()); err != nil {
			add("security.data_key", k.Source, err.Error(), "the output of: openssl rand -base64 32")
		}
	} else if !c.Simulator.Enabled {
		add("security.data_key", "", "is required in production (it encrypts sensitive fields at rest); set WECOMAPP_SECURITY_DATA_KEY or WECOMAPP_SECURITY_DATA_KEY_FILE", "the output of: openssl rand -base64 32")
	}
	if k := c.Security.PreviousDataKeys; k.IsSet() {
		if _, err := DecodeDataKeys(k.Value()); err != nil {
			add("security.previous_data_keys", k.Source, err.Error(), "the old data key, then a comma and any older one")
		} else if !c.Security.DataKey.IsSet() {
			add("security.previous_data_keys", k.Source, "is set but security.data_key is not: rotating needs the new key as data_key", "move the key to rotate to into WECOMAPP_SECURITY_DATA_KEY")
		}
	}
	return ps
}

func defaultPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func validateDatabase(d *Database) []Problem {
	var ps []Problem
	add := func(key, source, problem, example string) {
		ps = append(ps, Problem{Key: key, Source: source, Problem: problem, Example: example})
	}
	switch d.Driver {
	case "sqlite":
		if d.DSN.Value() == "" {
			add("database.dsn", d.DSN.Source, "is empty", "file:data/wecomapp.db")
		}
	case "mysql":
		if d.DSN.Value() == "" {
			add("database.dsn", d.DSN.Source, "is empty; set WECOMAPP_DATABASE_DSN or WECOMAPP_DATABASE_DSN_FILE", exampleDSN)
			break
		}
		if p := mysqlDSNProblem(d.DSN, "WECOMAPP_DATABASE_DSN"); p != "" {
			add("database.dsn", d.DSN.Source, p, exampleDSN)
		}
	default:
		add("database.driver", "", fmt.Sprintf("%q is not a driver", d.Driver), "sqlite (embedded default) or mysql (MySQL 8 / MariaDB 10.6+)")
	}
	if d.MaxOpenConns < 0 {
		add("database.max_open_conns", "", "must not be negative", "25")
	}
	if d.MaxIdleConns < 0 {
		add("database.max_idle_conns", "", "must not be negative", "25")
	}
	return ps
}

func validateWeCom(w *WeCom, simulated bool) []Problem {
	var ps []Problem
	add := func(key, source, problem, example string) {
		ps = append(ps, Problem{Key: key, Source: source, Problem: problem, Example: example})
	}
	if !corpIDRe.MatchString(w.CorpID) {
		add("wecom.corp_id", "", fmt.Sprintf("%q is not a corp id (letters and digits)", w.CorpID), "ww1234567890abcdef")
	}
	for _, k := range []struct {
		key, v string
	}{{"wecom.api_base", w.APIBase}, {"wecom.oauth_base", w.OAuthBase}, {"wecom.login_base", w.LoginBase}} {
		if k.v == "" {
			continue
		}
		if u, err := url.Parse(k.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(k.key, "", fmt.Sprintf("%q is not an absolute http(s) URL", k.v), "https://qyapi.weixin.qq.com")
		}
	}
	if w.HTTPTimeout <= 0 {
		add("wecom.http_timeout", "", "must be a positive duration", "10s")
	}
	receiver := func(key string, r Receiver) {
		if !simulated && !r.Secret.IsSet() {
			add(key+".secret", "", "is required when the simulator is off; set "+envOf(key+".secret")+" or "+envOf(key+".secret")+"_FILE", "the secret shown in the WeCom admin console")
		}
		if r.Token.IsSet() && !tokenRe.MatchString(r.Token.Value()) {
			add(key+".token", r.Token.Source, fmt.Sprintf("must be 1 to 32 letters or digits, got %d characters", len(r.Token.Value())), "QDG6eK")
		} else if !simulated && !r.Token.IsSet() {
			add(key+".token", "", "is required when the simulator is off; set "+envOf(key+".token"), "the Token from the console's 接收消息 settings")
		}
		if r.EncodingAESKey.IsSet() {
			if p := checkAESKey(r.EncodingAESKey.Value()); p != "" {
				add(key+".encoding_aes_key", r.EncodingAESKey.Source, p, exampleAESKey)
			}
		} else if !simulated {
			add(key+".encoding_aes_key", "", "is required when the simulator is off; set "+envOf(key+".encoding_aes_key"), exampleAESKey)
		}
	}
	receiver("wecom.contacts", w.Contacts)
	if len(w.Apps) == 0 {
		add("wecom.apps", "", "lists no application", "[{name: hall, agent_id: 1000002}]")
	}
	names := map[string]bool{}
	agents := map[int64]bool{}
	for _, a := range w.Apps {
		key := "wecom.apps[" + a.Name + "]"
		if !appNameRe.MatchString(a.Name) {
			add(key+".name", "", fmt.Sprintf("%q must be lowercase letters, digits, - or _, starting with a letter", a.Name), "hall")
		}
		if names[a.Name] {
			add(key+".name", "", "is listed twice", "")
		}
		names[a.Name] = true
		if a.AgentID <= 0 {
			add(key+".agent_id", "", fmt.Sprintf("%d is not an agent id", a.AgentID), "1000002")
		} else if agents[a.AgentID] {
			add(key+".agent_id", "", fmt.Sprintf("%d is used by two apps", a.AgentID), "")
		}
		agents[a.AgentID] = true
		receiver(key, a.Receiver)
	}
	return ps
}

// checkAESKey mirrors wecom.ParseEncodingAESKey (config imports nothing
// from the project) and never echoes the key.
func checkAESKey(k string) string {
	if len(k) != 43 {
		return fmt.Sprintf("must be exactly 43 characters (A-Z, a-z, 0-9), got %d", len(k))
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Sprintf("character %d is not a letter or digit", i+1)
		}
	}
	if b, err := base64.StdEncoding.DecodeString(k + "="); err != nil || len(b) != 32 {
		return "does not decode to a 32-byte AES key"
	}
	return ""
}

// DecodeDataKey accepts a 32-byte key as standard base64 or hex.
func DecodeDataKey(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, fmt.Errorf("must be 32 random bytes as base64 (44 characters) or hex (64), got %d characters", len(s))
}

// DecodeDataKeys decodes a comma-separated list of data keys (as
// DecodeDataKey), ignoring blanks around commas and empty items.
func DecodeDataKeys(s string) ([][]byte, error) {
	var out [][]byte
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, err := DecodeDataKey(item)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// envOf names the environment variable of a dotted key.
func envOf(key string) string {
	key = strings.NewReplacer("[", ".", "]", "").Replace(key)
	var parts []string
	for _, p := range strings.Split(key, ".") {
		parts = append(parts, envName(p))
	}
	return EnvPrefix + "_" + strings.Join(parts, "_")
}

// mysqlDSNProblem says what is wrong with a MySQL DSN ("" nothing): it
// does not parse, names no database, or holds a password written in
// config.yaml (env names the variables it belongs in).
func mysqlDSNProblem(dsn Secret, env string) string {
	cfg, err := mysql.ParseDSN(dsn.Value())
	switch {
	case err != nil:
		// The driver's message never repeats the DSN, so the password stays out of it.
		return "is not a valid MySQL DSN (" + err.Error() + ")"
	case cfg.DBName == "":
		return "names no database"
	case cfg.Passwd != "" && dsn.inline:
		return "holds a password, and config.yaml is not a place for secrets; move it to " + env + " or " + env + "_FILE"
	}
	return ""
}

// validateShared checks the shared database's connection; an empty DSN is
// allowed (no shared database: the data modules are off).
func validateShared(d *Shared) []Problem {
	var ps []Problem
	add := func(key, source, problem, example string) {
		ps = append(ps, Problem{Key: key, Source: source, Problem: problem, Example: example})
	}
	const example = "wecomapp_ro:password@tcp(10.0.0.5:3306)/shared (a read-only account)"
	switch d.Driver {
	case "sqlite":
	case "mysql":
		if d.DSN.Value() == "" {
			break
		}
		if p := mysqlDSNProblem(d.DSN, "WECOMAPP_SHARED_DSN"); p != "" {
			add("shared.dsn", d.DSN.Source, p, example)
		}
	default:
		add("shared.driver", "", fmt.Sprintf("%q is not a driver", d.Driver), "sqlite (the demo's file) or mysql")
	}
	if d.MaxOpenConns < 0 {
		add("shared.max_open_conns", "", "must not be negative", "20")
	}
	return ps
}
