package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/store"
)

// Admin roles: who may do what in the admin console.
const (
	AdminSuper   = "super"      // everything, including granting admin roles
	AdminDept    = "dept_admin" // workbenches, content and service-hall processes of their departments
	AdminSender  = "sender"     // sends messages (message center)
	AdminAuditor = "auditor"    // reads the audit log
)

// AdminRoles lists the roles in the order the console shows them.
var AdminRoles = []string{AdminSuper, AdminDept, AdminSender, AdminAuditor}

// SystemActor is the actor recorded for grants made from configuration
// (Bootstrap) rather than by a person.
const SystemActor = "system"

// Kinds of refusal of Grant and Revoke, for errors.Is; the error itself is
// a *GrantError saying which form field is wrong and why.
var (
	ErrUnknownAdminRole = errors.New("auth: unknown admin role")
	ErrBadGrant         = errors.New("auth: admin grant is not valid")
	ErrNoGrant          = errors.New("auth: no such admin grant")
	ErrLastSuperAdmin   = errors.New("auth: the last super admin cannot be revoked")
)

// GrantError is a refused Grant or Revoke: Field is the console form's
// field at fault ("userid", "role" or "depts"), Msg says what is wrong in
// words for the admin, and Kind is one of the Err values above.
type GrantError struct {
	Field string
	Msg   string
	Kind  error
}

func (e *GrantError) Error() string { return "auth: admin grant: " + e.Field + ": " + e.Msg }

// Unwrap lets errors.Is match the kind.
func (e *GrantError) Unwrap() error { return e.Kind }

func grantError(kind error, field, format string, args ...any) error {
	return &GrantError{Field: field, Msg: fmt.Sprintf(format, args...), Kind: kind}
}

// Grant is one admin role held by a person. Depts are the department codes
// a dept_admin reaches (their sub-departments included); empty otherwise.
type Grant struct {
	UserID    string    `json:"userid"`
	Role      string    `json:"role"`
	Depts     []string  `json:"depts,omitempty"`
	GrantedBy string    `json:"granted_by"`
	GrantedAt time.Time `json:"granted_at"`
}

// Perm is a part of the admin console.
type Perm string

// The console's permissions.
const (
	PermWorkbench Perm = "workbench" // roles' workbenches, sections, tiles, modules; preview
	PermRoles     Perm = "roles"     // role rules and priorities
	PermGrants    Perm = "grants"    // admin grants
	PermAudit     Perm = "audit"     // read the audit log
	PermContent   Perm = "content"   // campus overview content
	PermMessage   Perm = "message"   // send messages
	// PermContacts runs the contacts sync and edits the tag rules: it
	// changes the whole corp's contacts in WeCom, so super admins only.
	PermContacts Perm = "contacts"
	// PermHall is the service hall's console: designing and publishing
	// processes, the approver simulator, statistics and reassigning stuck
	// tasks. A dept_admin holds it for the processes their departments own
	// (Scope; a process's Owner is a data-center department code).
	PermHall Perm = "hall"
	// PermAttendance is the personnel office's attendance (考勤统计):
	// pulling members' punch records from WeCom and exporting them. There
	// is no personnel-office role yet, so super admins only.
	PermAttendance Perm = "attendance"
)

// rolePerms is what each role may do (super: everything).
var rolePerms = map[string][]Perm{
	AdminDept:    {PermWorkbench, PermContent, PermHall},
	AdminSender:  {PermMessage},
	AdminAuditor: {PermAudit},
}

// Allowed reports whether any of grants gives p: super gives every
// permission; dept_admin gives workbench, content and hall (within its
// departments: see Scope); sender gives message; auditor gives audit.
func Allowed(grants []Grant, p Perm) bool {
	for _, g := range grants {
		if g.Role == AdminSuper || slices.Contains(rolePerms[g.Role], p) {
			return true
		}
	}
	return false
}

// Scope says how far grants give p: all (a role that gives p everywhere),
// or only the listed departments (dept_admin grants, merged). Neither means
// p is not allowed.
func Scope(grants []Grant, p Perm) (all bool, depts []string) {
	for _, g := range grants {
		switch {
		case g.Role == AdminSuper:
			return true, nil
		case !slices.Contains(rolePerms[g.Role], p):
		case g.Role == AdminDept:
			for _, d := range g.Depts {
				if !slices.Contains(depts, d) {
					depts = append(depts, d)
				}
			}
		default:
			return true, nil
		}
	}
	return false, depts
}

// Admins keeps the admin grants (store.admin_grants). Every change is
// written to the audit log in the same transaction. It checks that a grant
// makes sense; whether the actor may make it (Allowed(actorGrants,
// PermGrants)) is the console handler's check.
type Admins struct {
	db  *store.DB
	now func() time.Time
}

// NewAdmins returns the grants kept in db; now is the clock of granted_at
// and the audit rows (nil: time.Now).
func NewAdmins(db *store.DB, now func() time.Time) *Admins {
	if now == nil {
		now = time.Now
	}
	return &Admins{db: db, now: now}
}

// Grants returns the roles userID holds (none: an empty list).
func (a *Admins) Grants(ctx context.Context, userID string) ([]Grant, error) {
	gs, err := a.db.GrantsOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: admin grants of %s: %w", userID, err)
	}
	return fromStore(gs), nil
}

// List returns every grant, by userid then role.
func (a *Admins) List(ctx context.Context) ([]Grant, error) {
	gs, err := a.db.ListGrants(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth: list admin grants: %w", err)
	}
	return fromStore(gs), nil
}

// Grant gives g.UserID the role g.Role, or replaces the departments of a
// dept_admin grant they hold. GrantedBy and GrantedAt are set from actor
// and the clock. Refused with a *GrantError (kind ErrUnknownAdminRole or
// ErrBadGrant): an unknown role, a dept_admin without departments or with
// codes not in the data center's departments, departments on another role,
// a malformed userid.
// The change and its audit row ("admin.grant", before and after) commit
// together.
func (a *Admins) Grant(ctx context.Context, actor store.Actor, g Grant) error {
	g, err := a.validate(ctx, g)
	if err != nil {
		return err
	}
	if actor.UserID == "" {
		return fmt.Errorf("auth: grant %s to %s: no actor", g.Role, g.UserID)
	}
	g.GrantedBy, g.GrantedAt = actor.UserID, a.now().UTC().Truncate(time.Millisecond)
	err = a.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		var before any
		old, err := a.db.GetGrant(ctx, tx, g.UserID, g.Role)
		switch {
		case err == nil:
			before = fromStore([]store.AdminGrant{old})[0]
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := a.db.UpsertGrant(ctx, tx, toStore(g)); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "admin.grant", g.UserID, g.Role, before, g)
	})
	if err != nil {
		return fmt.Errorf("auth: grant %s to %s: %w", g.Role, g.UserID, err)
	}
	return nil
}

// Revoke takes role away from userID. Refused with a *GrantError: a grant
// they do not hold (ErrNoGrant) and the last super admin
// (ErrLastSuperAdmin), so the console
// can never be left without someone able to grant. The change and its
// audit row ("admin.revoke") commit together.
func (a *Admins) Revoke(ctx context.Context, actor store.Actor, userID, role string) error {
	if !slices.Contains(AdminRoles, role) {
		return grantError(ErrUnknownAdminRole, "role", "%q is not an admin role (want one of %s)", role, strings.Join(AdminRoles, ", "))
	}
	if actor.UserID == "" {
		return fmt.Errorf("auth: revoke %s from %s: no actor", role, userID)
	}
	err := a.db.WithTx(ctx, func(tx *sqlx.Tx) error {
		supers := 0
		if role == AdminSuper {
			// Counted first: on MySQL this locks every super grant before
			// the one revoked, so two revokes queue instead of deadlocking,
			// and the second sees what the first left.
			n, err := a.db.CountRole(ctx, tx, AdminSuper)
			if err != nil {
				return err
			}
			supers = n
		}
		old, err := a.db.GetGrant(ctx, tx, userID, role)
		if errors.Is(err, store.ErrNotFound) {
			return grantError(ErrNoGrant, "userid", "%s does not hold %s", userID, role)
		}
		if err != nil {
			return err
		}
		if role == AdminSuper && supers <= 1 {
			return grantError(ErrLastSuperAdmin, "role", "%s is the only super admin: grant super to someone else first", userID)
		}
		if _, err := a.db.DeleteGrant(ctx, tx, userID, role); err != nil {
			return err
		}
		return a.audit(ctx, tx, actor, "admin.revoke", userID, role, fromStore([]store.AdminGrant{old})[0], nil)
	})
	if err != nil {
		return fmt.Errorf("auth: revoke %s from %s: %w", role, userID, err)
	}
	return nil
}

// Bootstrap grants super to each of superAdmins (config admin.super_admins)
// who does not hold it yet, audited with actor "system". It never revokes:
// removing someone from the list leaves their grant for the console to
// revoke, with its audit row.
func (a *Admins) Bootstrap(ctx context.Context, superAdmins []string) error {
	var seen []string
	for _, u := range superAdmins {
		u = strings.TrimSpace(u)
		if u == "" || slices.Contains(seen, u) {
			continue
		}
		seen = append(seen, u)
		gs, err := a.Grants(ctx, u)
		if err != nil {
			return fmt.Errorf("auth: bootstrap super admins: %w", err)
		}
		if slices.ContainsFunc(gs, func(g Grant) bool { return g.Role == AdminSuper }) {
			continue
		}
		if err := a.Grant(ctx, store.Actor{UserID: SystemActor}, Grant{UserID: u, Role: AdminSuper}); err != nil {
			return fmt.Errorf("auth: bootstrap super admins: %w", err)
		}
	}
	return nil
}

// validate normalises g (trimmed, departments deduplicated) or says what is
// wrong with it.
func (a *Admins) validate(ctx context.Context, g Grant) (Grant, error) {
	g.UserID = strings.TrimSpace(g.UserID)
	if g.UserID == "" || len(g.UserID) > 64 || strings.ContainsFunc(g.UserID, unicode.IsSpace) {
		return g, grantError(ErrBadGrant, "userid", "%q must be 1 to 64 characters without spaces", g.UserID)
	}
	if !slices.Contains(AdminRoles, g.Role) {
		return g, grantError(ErrUnknownAdminRole, "role", "%q is not an admin role (want one of %s)", g.Role, strings.Join(AdminRoles, ", "))
	}
	var depts []string
	for _, d := range g.Depts {
		d = strings.TrimSpace(d)
		if d == "" || slices.Contains(depts, d) {
			continue
		}
		if len(d) > 32 || strings.ContainsAny(d, ", ") {
			return g, grantError(ErrBadGrant, "depts", "%q is not a department code", d)
		}
		depts = append(depts, d)
	}
	g.Depts = depts
	if g.Role != AdminDept {
		if len(depts) > 0 {
			return g, grantError(ErrBadGrant, "depts", "departments apply to %s only, not %s", AdminDept, g.Role)
		}
		return g, nil
	}
	if len(depts) == 0 {
		return g, grantError(ErrBadGrant, "depts", "a %s grant needs at least one department", AdminDept)
	}
	if len(strings.Join(depts, ",")) > 1024 {
		return g, grantError(ErrBadGrant, "depts", "%d departments are too many for one grant", len(depts))
	}
	unknown, err := a.db.UnknownDepartments(ctx, depts)
	if err != nil {
		return g, fmt.Errorf("auth: grant %s to %s: %w", g.Role, g.UserID, err)
	}
	if len(unknown) > 0 {
		return g, grantError(ErrBadGrant, "depts", "no department %s in the data center", strings.Join(unknown, ", "))
	}
	return g, nil
}

func (a *Admins) audit(ctx context.Context, tx *sqlx.Tx, actor store.Actor, action, userID, role string, before, after any) error {
	if after == nil {
		after = (*Grant)(nil) // JSON null
	}
	if before == nil {
		before = (*Grant)(nil)
	}
	e, err := store.Audit(actor, action, "admin/"+userID+"/"+role, before, after, a.now())
	if err != nil {
		return err
	}
	return a.db.InsertAudit(ctx, tx, e)
}

func fromStore(gs []store.AdminGrant) []Grant {
	out := make([]Grant, len(gs))
	for i, g := range gs {
		out[i] = Grant{UserID: g.UserID, Role: g.Role, Depts: g.Depts, GrantedBy: g.GrantedBy, GrantedAt: g.GrantedAt}
	}
	return out
}

func toStore(g Grant) store.AdminGrant {
	return store.AdminGrant{UserID: g.UserID, Role: g.Role, Depts: g.Depts, GrantedBy: g.GrantedBy, GrantedAt: g.GrantedAt}
}
