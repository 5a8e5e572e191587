package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wecomapp/wecomapp/config"
	"github.com/wecomapp/wecomapp/store"
)

// devDataKeyFile is the development data key's file, beside the SQLite
// database it protects.
const devDataKeyFile = "dev-data-key"

// dataSealer builds the store's Sealer from security.data_key and
// security.previous_data_keys. With the simulator on and no key set, it
// uses the development key kept beside the SQLite file, creating it on
// first use: a key generated per run would leave a persistent ./data
// unreadable on the next make run. Production (simulator off) never gets
// here without a key: validation requires one.
func dataSealer(cfg *config.Config) (*store.Sealer, error) {
	var (
		cur []byte
		err error
	)
	switch {
	case cfg.Security.DataKey.IsSet():
		if cur, err = config.DecodeDataKey(cfg.Security.DataKey.Value()); err != nil {
			return nil, fmt.Errorf("security.data_key (from %s): %w", cfg.Security.DataKey.Source, err)
		}
	case cfg.Simulator.Enabled:
		if cur, err = devDataKey(cfg.Database); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("security.data_key is required when the simulator is off (set WECOMAPP_SECURITY_DATA_KEY or WECOMAPP_SECURITY_DATA_KEY_FILE)")
	}
	var prev [][]byte
	if p := cfg.Security.PreviousDataKeys; p.IsSet() {
		if prev, err = config.DecodeDataKeys(p.Value()); err != nil {
			return nil, fmt.Errorf("security.previous_data_keys (from %s): %w", p.Source, err)
		}
	}
	return store.NewSealer(cur, prev...)
}

// devDataKey reads, or creates with mode 0600, the development data key
// beside a SQLite database file. An in-memory database gets a key for this
// process (its data dies with it); a MySQL database, which outlives any
// one machine's files, must be given a key.
func devDataKey(db config.Database) ([]byte, error) {
	if db.Driver != "sqlite" {
		return nil, fmt.Errorf("security.data_key is required with a %s database, even with the simulator on: a generated key would not be found again by the next instance or run", db.Driver)
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(db.DSN.Value(), "file:"), "?")
	if path == "" || path == ":memory:" || strings.Contains(query, "mode=memory") {
		k := make([]byte, store.DataKeyLen)
		_, _ = rand.Read(k) // never fails (crypto/rand)
		return k, nil
	}
	file := filepath.Join(filepath.Dir(path), devDataKeyFile)
	for {
		b, err := os.ReadFile(file)
		if err == nil {
			k, err := config.DecodeDataKey(strings.TrimSpace(string(b)))
			if err != nil {
				return nil, fmt.Errorf("development data key %s: %w (delete it only if the database beside it holds nothing to keep)", file, err)
			}
			return k, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("development data key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
			return nil, fmt.Errorf("development data key: %w", err)
		}
		k := make([]byte, store.DataKeyLen)
		_, _ = rand.Read(k)
		// O_EXCL: two processes starting together on a new ./data agree on
		// the one that won.
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("development data key: %w", err)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			_ = os.Remove(file)
			return nil, fmt.Errorf("development data key: write %s: %w", file, werr)
		}
		return k, nil
	}
}

func cmdRekey(ctx context.Context, e *env, args []string) error {
	fs := e.flags("rekey", "", "Re-encrypt every sealed value that is not under security.data_key (sealed under a key of\n"+
		"security.previous_data_keys, or plaintext from before the column was sealed), and recompute its\n"+
		"lookup hash. Resumable: interrupted, run it again; values already under the current key are skipped.\n"+
		"Safe beside running instances that have the new key as data_key and the old one as a previous key.")
	batch := fs.Int("batch", 500, "rows per transaction")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return usageError{fmt.Sprintf("rekey: unexpected argument %q", fs.Arg(0))}
	}
	if *batch < 1 || *batch > 10000 {
		return usageError{fmt.Sprintf("rekey: --batch %d is outside 1..10000", *batch)}
	}
	db, err := e.openDatabase(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, m := range st {
		if !m.Applied {
			return fmt.Errorf("rekey: migration %s is not applied; run wecomapp migrate up first", m.Name)
		}
	}
	s := db.Sealer()
	fmt.Fprintf(e.stdout, "sealing under key %s; opening keys %s\n", s.CurrentKeyID(), strings.Join(s.KeyIDs(), ", "))
	progress := func(p store.RekeyStats) {
		fmt.Fprintf(e.stdout, "%s: %d rows read, %d re-sealed, %d already current (%s up to %d)\n",
			p.Column, p.Scanned, p.Resealed, p.Current, p.Column.Key, p.LastKey)
	}
	all, err := db.RekeyAll(ctx, *batch, progress)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted (run wecomapp rekey again to continue): %w", err)
		}
		return err
	}
	for _, p := range all {
		fmt.Fprintf(e.stdout, "%s: done, %d rows, %d re-sealed under key %s\n", p.Column, p.Scanned, p.Resealed, s.CurrentKeyID())
	}
	return nil
}
