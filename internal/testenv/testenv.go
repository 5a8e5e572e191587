// Package testenv tells tests which real services they may use. Outside CI a
// test that needs a service it was not given skips, saying which variable to
// set; with CI=true a missing service fails the run, so CI cannot pass
// vacuously (pkgsite's rule).
package testenv

import (
	"os"
	"testing"
)

// Environment variables naming the real services.
const (
	MySQLDSNVar  = "WECOMAPP_TEST_MYSQL_DSN"
	RedisAddrVar = "WECOMAPP_TEST_REDIS_ADDR"
	ChromiumVar  = "WECOMAPP_TEST_CHROMIUM"
)

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Need returns the value of the variable, or skips (outside CI) or fails
// (in CI) the test when it is unset.
func Need(t testing.TB, variable, what string) string {
	t.Helper()
	v := os.Getenv(variable)
	if v != "" {
		return v
	}
	if InCI() {
		t.Fatalf("%s is not set: CI must run the %s tests", variable, what)
	}
	t.Skipf("skipping %s tests: set %s to run them", what, variable)
	return ""
}

// MySQLDSN returns the DSN of a MySQL/MariaDB server for tests.
func MySQLDSN(t testing.TB) string { return Need(t, MySQLDSNVar, "MySQL/MariaDB") }

// RedisAddr returns the address of a Redis server for tests.
func RedisAddr(t testing.TB) string { return Need(t, RedisAddrVar, "Redis") }

// Chromium returns the path of a headless-capable Chromium for browser
// tests: WECOMAPP_TEST_CHROMIUM, or Debian's /usr/bin/chromium when it is
// installed. Outside CI a missing browser skips; in CI it fails.
func Chromium(t testing.TB) string {
	t.Helper()
	if v := os.Getenv(ChromiumVar); v != "" {
		return v
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return Need(t, ChromiumVar, "browser")
}
