package store

import (
	"context"
	"fmt"
	"time"
)

// PersonClient says a person opened the platform from client (wecom,
// wechat or pc) between FirstSeen and LastSeen.
type PersonClient struct {
	UserID    string    `db:"userid"`
	Client    string    `db:"client"`
	FirstSeen time.Time `db:"-"`
	LastSeen  time.Time `db:"-"`
	First     int64     `db:"first_seen"`
	Last      int64     `db:"last_seen"`
}

// RecordClient notes that userID signed in from client at.
func (db *DB) RecordClient(ctx context.Context, userID, client string, at time.Time) error {
	ms := Millis(at)
	res, err := db.ExecContext(ctx, db.Rebind(`UPDATE person_clients SET last_seen = ? WHERE userid = ? AND client = ?`), ms, userID, client)
	if err != nil {
		return fmt.Errorf("store: record client %s of %s: %w", client, userID, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = db.ExecContext(ctx, db.Rebind(`INSERT INTO person_clients (userid, client, first_seen, last_seen) VALUES (?, ?, ?, ?)`), userID, client, ms, ms)
	if IsUniqueViolation(err) {
		return nil // another sign-in of the same person won the race
	}
	if err != nil {
		return fmt.Errorf("store: record client %s of %s: %w", client, userID, err)
	}
	return nil
}

// ClientsOf lists the clients userID has used, most recent first.
func (db *DB) ClientsOf(ctx context.Context, userID string) ([]PersonClient, error) {
	var out []PersonClient
	if err := db.SelectContext(ctx, &out, db.Rebind(`SELECT userid, client, first_seen, last_seen FROM person_clients WHERE userid = ? ORDER BY last_seen DESC`), userID); err != nil {
		return nil, fmt.Errorf("store: clients of %s: %w", userID, err)
	}
	for i := range out {
		out[i].FirstSeen, out[i].LastSeen = Time(out[i].First), Time(out[i].Last)
	}
	return out, nil
}

// PersonIDs lists every userid in our records: the data center's faculty
// and students and the people who registered themselves.
func (db *DB) PersonIDs(ctx context.Context) ([]string, error) {
	var out []string
	err := db.SelectContext(ctx, &out, `SELECT staff_no FROM dc_faculty UNION SELECT student_no FROM dc_students UNION SELECT userid FROM people_ext`)
	if err != nil {
		return nil, fmt.Errorf("store: list person ids: %w", err)
	}
	return out, nil
}
