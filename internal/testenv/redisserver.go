package testenv

import (
	"bufio"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// StartRedis starts a redis-server of the test's own on a free loopback
// port, for tests that stop Redis mid-test (the shared one must stay up for
// the others). It returns the address and a kill function, also run at
// cleanup. Outside CI a missing redis-server skips; in CI it fails.
func StartRedis(t testing.TB) (addr string, kill func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if InCI() {
			t.Fatalf("redis-server not found: %v", err)
		}
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	srv := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := srv.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	killed := false
	kill = func() {
		if !killed {
			killed = true
			_ = srv.Process.Kill()
			_ = srv.Wait()
		}
	}
	t.Cleanup(kill)
	addr = "127.0.0.1:" + port
	for i := 0; i < 100; i++ {
		if redisPongs(addr) {
			return addr, kill
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("redis-server on %s did not answer", addr)
	return "", nil
}

// redisPongs sends PING in Redis's inline protocol and reads +PONG.
func redisPongs(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
