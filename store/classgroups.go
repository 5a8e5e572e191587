package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Class group chats (class_groups): our record of the app group chats
// package classgroup made, one per class, as last written to WeCom. The
// domain rules are in classgroup.

// ClassGroupChatIDMax is the longest chatid WeCom takes.
const ClassGroupChatIDMax = 32

// ClassGroup is a class's group chat as we last wrote it. Members are
// sorted and hold the owner. CreatedAt and WrittenAt are Unix
// milliseconds.
type ClassGroup struct {
	ChatID    string
	ClassCode string
	AgentID   int64
	Name      string
	Owner     string
	Members   []string
	CreatedAt int64
	WrittenAt int64
}

const classGroupCols = "chatid, class_code, agent_id, name, owner, members, created_at, written_at"

type classGroupRow struct {
	ChatID    string `db:"chatid"`
	ClassCode string `db:"class_code"`
	AgentID   int64  `db:"agent_id"`
	Name      string `db:"name"`
	Owner     string `db:"owner"`
	Members   string `db:"members"`
	CreatedAt int64  `db:"created_at"`
	WrittenAt int64  `db:"written_at"`
}

func (r classGroupRow) group() ClassGroup {
	return ClassGroup{ChatID: r.ChatID, ClassCode: r.ClassCode, AgentID: r.AgentID, Name: r.Name, Owner: r.Owner,
		Members: splitList(r.Members), CreatedAt: r.CreatedAt, WrittenAt: r.WrittenAt}
}

// PutClassGroup records g as written to WeCom at at, replacing what was
// recorded for its chatid. A zero CreatedAt becomes at. Members are stored
// sorted.
func (db *DB) PutClassGroup(ctx context.Context, q sqlx.ExtContext, g ClassGroup, at time.Time) error {
	switch {
	case g.ChatID == "" || len(g.ChatID) > ClassGroupChatIDMax:
		return fmt.Errorf("store: put class group %q: the chatid must be 1 to %d bytes", g.ChatID, ClassGroupChatIDMax)
	case g.ClassCode == "":
		return fmt.Errorf("store: put class group %s: no class code", g.ChatID)
	}
	for _, m := range g.Members {
		if m == "" || len(m) > MirrorUserIDMax || strings.Contains(m, ",") {
			return fmt.Errorf("store: put class group %s: member %q is not a userid", g.ChatID, m)
		}
	}
	members := slices.Clone(g.Members)
	slices.Sort(members)
	if g.CreatedAt == 0 {
		g.CreatedAt = Millis(at)
	}
	row := []any{g.ChatID, g.ClassCode, g.AgentID, g.Name, g.Owner, strings.Join(members, ","), g.CreatedAt, Millis(at)}
	if err := db.upsert(ctx, db.ext(q), "class_groups", strings.Split(classGroupCols, ", "), []string{"chatid"}, [][]any{row}); err != nil {
		return fmt.Errorf("store: put class group %s of class %s: %w", g.ChatID, g.ClassCode, err)
	}
	return nil
}

// ListClassGroups lists every recorded class group by class code.
func (db *DB) ListClassGroups(ctx context.Context, q sqlx.ExtContext) ([]ClassGroup, error) {
	var rows []classGroupRow
	if err := sqlx.SelectContext(ctx, db.ext(q), &rows, "SELECT "+classGroupCols+" FROM class_groups ORDER BY class_code"); err != nil {
		return nil, fmt.Errorf("store: list class groups: %w", err)
	}
	out := make([]ClassGroup, len(rows))
	for i, r := range rows {
		out[i] = r.group()
	}
	return out, nil
}

// ClassGroupOf returns the group of class code, or ErrNotFound.
func (db *DB) ClassGroupOf(ctx context.Context, q sqlx.ExtContext, classCode string) (ClassGroup, error) {
	var r classGroupRow
	if err := sqlx.GetContext(ctx, db.ext(q), &r, "SELECT "+classGroupCols+" FROM class_groups WHERE class_code = ?", classCode); err != nil {
		return ClassGroup{}, notFound(err, "store: class group of class %s", classCode)
	}
	return r.group(), nil
}
