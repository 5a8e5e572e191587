package contacts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/wecom"
)

// Kind is the kind of a touched object.
type Kind string

// The kinds of touched objects.
const (
	KindDepartment = Kind(store.MirrorKindDepartment)
	KindMember     = Kind(store.MirrorKindMember)
	KindTag        = Kind(store.MirrorKindTag)
)

// ChangeContactKinds are the inbox kinds HandleChangeContact takes, one
// per change_contact ChangeType (docs/wecom.md §3).
var ChangeContactKinds = []string{
	wecom.KindCreateUser, wecom.KindUpdateUser, wecom.KindDeleteUser,
	wecom.KindCreateParty, wecom.KindUpdateParty, wecom.KindDeleteParty,
	wecom.KindUpdateTag,
}

// Touch says that someone else changed an object in WeCom since the sync
// last looked at it: the latest change_contact event about it.
type Touch struct {
	Kind Kind
	// ID is the userid, or the department or tag id in decimal
	// (DepartmentID and TagID parse it).
	ID string
	// Event is the latest event's ChangeType: create_user, update_user,
	// delete_user, create_party, update_party, delete_party, update_tag.
	Event string
	// Deleted: the latest event says the object is gone from WeCom: a
	// delete_*, or an update_user that changed its userid to NewUserID. A
	// hint: the sync checks existence against WeCom's ids.
	Deleted   bool
	NewUserID string
	// At is the latest event's time, FirstAt the earliest's since the sync
	// last cleared the touch.
	At, FirstAt time.Time
	// Mirrored: the mirror holds the object. A touched object the mirror
	// does not hold is one we never wrote (created in the console, or by
	// another app).
	Mirrored bool
}

// DepartmentID is the id of a touched department.
func (t Touch) DepartmentID() (int64, bool) {
	if t.Kind != KindDepartment {
		return 0, false
	}
	id, err := strconv.ParseInt(t.ID, 10, 64)
	return id, err == nil
}

// TagID is the id of a touched tag.
func (t Touch) TagID() (int64, bool) {
	if t.Kind != KindTag {
		return 0, false
	}
	id, err := strconv.ParseInt(t.ID, 10, 64)
	return id, err == nil
}

func (t Touch) record() store.MirrorTouch {
	return store.MirrorTouch{Kind: store.MirrorKind(t.Kind), ID: t.ID, Event: t.Event, Deleted: t.Deleted, NewID: t.NewUserID,
		TouchedAt: store.Millis(t.At), FirstAt: store.Millis(t.FirstAt), Mirrored: t.Mirrored}
}

func touchOf(r store.MirrorTouch) Touch {
	return Touch{Kind: Kind(r.Kind), ID: r.ID, Event: r.Event, Deleted: r.Deleted, NewUserID: r.NewID,
		At: store.Time(r.TouchedAt), FirstAt: store.Time(r.FirstAt), Mirrored: r.Mirrored}
}

// errNoObject is a change_contact that names no object we could look at.
var errNoObject = errors.New("names no object")

// touchesOf is what a change_contact event touches. Today's events carry
// ids only (docs/wecom.md §3), and even the older full form is read as ids:
// a field in an event is what someone set in WeCom, not what the data
// center wants, so it is never taken as data.
func touchesOf(ev *wecom.Event, at time.Time) ([]Touch, error) {
	c := ev.Contact
	if c == nil {
		return nil, errNoObject
	}
	one := func(kind Kind, id string, deleted bool) []Touch {
		return []Touch{{Kind: kind, ID: id, Event: ev.ChangeType, Deleted: deleted, At: at}}
	}
	switch ev.ChangeType {
	case "create_user", "update_user", "delete_user":
		if c.UserID == "" || len(c.UserID) > store.MirrorUserIDMax {
			return nil, errNoObject
		}
		if ev.ChangeType == "update_user" && c.NewUserID != "" && c.NewUserID != c.UserID && len(c.NewUserID) <= store.MirrorUserIDMax {
			// The userid changed: the old one is gone, the new one is a
			// member we may never have written.
			return []Touch{
				{Kind: KindMember, ID: c.UserID, Event: ev.ChangeType, Deleted: true, NewUserID: c.NewUserID, At: at},
				{Kind: KindMember, ID: c.NewUserID, Event: ev.ChangeType, At: at},
			}, nil
		}
		return one(KindMember, c.UserID, ev.ChangeType == "delete_user"), nil
	case "create_party", "update_party", "delete_party":
		if c.ID <= 0 {
			return nil, errNoObject
		}
		return one(KindDepartment, strconv.Itoa(c.ID), ev.ChangeType == "delete_party"), nil
	case "update_tag":
		if c.TagID <= 0 {
			return nil, errNoObject
		}
		return one(KindTag, strconv.Itoa(c.TagID), false), nil
	}
	return nil, fmt.Errorf("change type %q is not one of %v", ev.ChangeType, ChangeContactKinds)
}

// HandleChangeContact is the inbox handler of the change_contact kinds
// (ChangeContactKinds): it marks the object the event names touched, as of
// the event's CreateTime, for the next sync run. It never reads the object
// back from WeCom. Marking is idempotent: the inbox may deliver an event
// twice, and re-deliveries may come after later events, which still win.
// An event naming no object (or of a type it does not know) is logged and
// dropped: retrying it would not help.
func (m *Mirror) HandleChangeContact(ctx context.Context, ev *wecom.Event) error {
	if ev == nil {
		return nil
	}
	at := m.clock()
	if ev.CreateTime > 0 {
		at = time.Unix(ev.CreateTime, 0)
	}
	touches, err := touchesOf(ev, at)
	if err != nil {
		m.log.Warn("change_contact dropped", zap.String("change_type", ev.ChangeType), zap.Error(err))
		return nil
	}
	err = m.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		for _, t := range touches {
			if err := m.db.MarkMirrorTouched(ctx, tx, t.record()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("contacts: %s: %w", ev.ChangeType, err)
	}
	for _, t := range touches {
		m.log.Debug("touched", zap.String("kind", string(t.Kind)), zap.String("id", t.ID),
			zap.String("change_type", t.Event), zap.Bool("deleted", t.Deleted), zap.Time("at", t.At))
	}
	return nil
}

// Touched lists every touched object, oldest touch first, each saying
// whether the mirror holds it.
func (m *Mirror) Touched(ctx context.Context) ([]Touch, error) {
	rs, err := m.db.ListMirrorTouched(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("contacts: touched: %w", err)
	}
	out := make([]Touch, len(rs))
	for i, r := range rs {
		out[i] = touchOf(r)
	}
	return out, nil
}

// TouchOf returns the touch of one object, or ErrNotFound when it is
// untouched.
func (m *Mirror) TouchOf(ctx context.Context, kind Kind, id string) (Touch, error) {
	r, err := m.db.GetMirrorTouch(ctx, nil, store.MirrorKind(kind), id)
	if err != nil {
		return Touch{}, fmt.Errorf("contacts: touch of %s %s: %w", kind, id, err)
	}
	return touchOf(r), nil
}

// Clear forgets a touch the sync has dealt with (re-asserted the data
// center's values, or reported the drift), through q, if it is still t as
// listed by Touched: an event that came in since stays for the next run.
// It reports whether the touch was cleared.
func (m *Mirror) Clear(ctx context.Context, q sqlx.ExtContext, t Touch) (bool, error) {
	ok, err := m.db.ClearMirrorTouched(ctx, q, t.record())
	if err != nil {
		return false, fmt.Errorf("contacts: %w", err)
	}
	return ok, nil
}
