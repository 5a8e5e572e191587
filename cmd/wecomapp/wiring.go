package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/coord"
	"github.com/wecomapp/wecomapp/handler"
	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// newLogger builds the one logger of the process: readable console lines
// for make run, JSON for production log shipping.
func newLogger(c config.Log, w io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", c.Level, err)
	}
	var enc zapcore.Encoder
	if c.Format == "json" {
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey, ec.EncodeTime = "ts", zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	} else {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		enc = zapcore.NewConsoleEncoder(ec)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel)), nil
}

func openDB(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	sealer, err := dataSealer(cfg)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, store.Options{
		Driver:          cfg.Database.Driver,
		DSN:             cfg.Database.DSN.Value(),
		MaxOpenConns:    cfg.Database.MaxOpenConns,
		MaxIdleConns:    cfg.Database.MaxIdleConns,
		ConnMaxLifetime: cfg.Database.ConnMaxLifetime,
		Sealer:          sealer,
	})
}

func openCoord(ctx context.Context, cfg *config.Config) (coord.Store, error) {
	if cfg.Redis.Addr == "" {
		return coord.NewMemory(nil), nil
	}
	r := coord.NewRedis(coord.RedisOptions{
		Addr: cfg.Redis.Addr, Username: cfg.Redis.Username, Password: cfg.Redis.Password.Value(),
		DB: cfg.Redis.DB, Prefix: cfg.Redis.Prefix,
	})
	if err := r.Ping(ctx); err != nil {
		r.Close()
		return nil, fmt.Errorf("redis %s: %w", cfg.Redis.Addr, err)
	}
	return r, nil
}

// fillSimulatorSecrets gives every receiver the simulator serves a random
// secret, token and key for this run when none was configured: the
// simulator and the platform share them in process, and nothing secret is
// ever checked in.
func fillSimulatorSecrets(cfg *config.Config) error {
	fill := func(r *config.Receiver) error {
		if !r.Secret.IsSet() {
			v, err := randomString(32)
			if err != nil {
				return err
			}
			r.Secret.Set(v, "generated for the simulator")
		}
		if !r.Token.IsSet() {
			v, err := randomString(16)
			if err != nil {
				return err
			}
			r.Token.Set(v, "generated for the simulator")
		}
		if !r.EncodingAESKey.IsSet() {
			v, err := randomString(wecom.EncodingAESKeyLen)
			if err != nil {
				return err
			}
			r.EncodingAESKey.Set(v, "generated for the simulator")
		}
		return nil
	}
	if err := fill(&cfg.WeCom.Contacts); err != nil {
		return err
	}
	for i := range cfg.WeCom.Apps {
		if err := fill(&cfg.WeCom.Apps[i].Receiver); err != nil {
			return err
		}
	}
	// The data key is not generated here: openDB keeps a development key
	// beside the SQLite file (dataSealer), so ./data stays readable.
	return nil
}

// randomString returns n letters and digits (the alphabet WeCom allows in
// tokens and EncodingAESKeys).
func randomString(n int) (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// receivers builds the callback receivers: one per app, with its agent id
// (a callback whose inner AgentID differs is not dispatched), and one for
// the contacts-sync tool (agent id 0: its callbacks carry none), each with
// its own token and key.
func receivers(cfg *config.Config) (map[string]handler.Receiver, error) {
	out := map[string]handler.Receiver{}
	add := func(name string, agentID int64, r config.Receiver) error {
		if !r.Token.IsSet() || !r.EncodingAESKey.IsSet() {
			return nil
		}
		c, err := wecom.NewCrypter(r.Token.Value(), r.EncodingAESKey.Value(), cfg.WeCom.CorpID)
		if err != nil {
			return fmt.Errorf("callback receiver %s: %w", name, err)
		}
		out[name] = handler.Receiver{Crypter: c, AgentID: agentID}
		return nil
	}
	if err := add("contacts", 0, cfg.WeCom.Contacts); err != nil {
		return nil, err
	}
	for _, a := range cfg.WeCom.Apps {
		if err := add(a.Name, a.AgentID, a.Receiver); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func callbackURL(cfg *config.Config, receiver string) string {
	return strings.TrimRight(cfg.Server.PublicURL, "/") + "/wecom/callback/" + receiver
}
