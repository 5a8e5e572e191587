// Package contacts keeps the platform's record of WeCom's contacts: the
// mirror of what we wrote (departments, members, tags and their members)
// and the ids someone else changed since.
//
// Why a mirror: under today's rules the contacts-sync secret writes
// everything but reads back only ids (user/list_id, department/simplelist;
// the detail APIs answer 48009, docs/wecom.md §5.1), and change_contact
// carries only ids (§3). So the record of a member's name, departments,
// phone or a department's leaders is ours: the sync writes the mirror after
// each successful API call, diffs the data center's desired state against
// it, and uses WeCom's reads only to confirm which ids exist. A member's
// mobile and email are sealed at rest (store.MirrorMemberMobile,
// store.MirrorMemberEmail), with keyed hashes to find a member by phone.
//
// Touches: a change made elsewhere (the admin console, a member, another
// app) arrives as a change_contact event naming an id. HandleChangeContact,
// the inbox handler for those kinds (ChangeContactKinds), marks the object
// touched: never reading it back from WeCom (the secret cannot), and also
// for ids we never wrote (someone created them in the console) and for
// deletions (touched as deleted). The next sync run reads Touched,
// re-asserts the data center's values for each object (or reports the
// drift), and clears the touches it dealt with (Clear), which leaves any
// event that came in meanwhile for the run after. Changes the sync itself
// makes are not echoed back by WeCom, so they touch nothing.
//
// Delivery is at least once: marking is idempotent and the latest event
// about an object wins, whatever order re-deliveries arrive in.
//
// Planning: BuildDesired turns the data center's tables and the tag rules
// (expr over each member's attributes, kept in tag_rules) into the desired
// state, with the problems it found (bad rows are held as they are, never
// disabled; a tag over 30,000 members or a corp near its 3,000 tags is
// reported). BuildPlan diffs it against the mirror and the touches into an
// ordered plan: level-1 departments, deeper ones, members, tags, tag
// members in calls of at most 1,000 users / 100 departments, deletions
// last; each operation lists the ones it depends on, and Guard stops a plan
// that would disable or delete more than a share of members or departments.
// Apply runs a plan through the contacts API call by call, recording each
// applied operation in the mirror at once (so a killed run resumes by
// planning again), absorbing the repeats a resumed run can meet (60102 and
// the like), and reporting every failure with its errcode and what to do;
// `wecomapp sync` plans, guards and applies one run at a time.
package contacts
