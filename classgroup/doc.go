// Package classgroup keeps one WeCom group chat per class (班级群): an app
// group chat (appchat, docs/wecom.md §13) named after the class, owned by
// the class's counselor (辅导员) and holding its enrolled students, kept in
// step with the data center as students join and leave, so that a class
// can be messaged in its group (Send).
//
// The desired groups come from the data center's tables (Desired): a class
// is a department that students name as their class_code; its members are
// the enrolled and suspended students and the counselor most of them name,
// as far as they are members of WeCom (the caller's Members, normally
// MirrorMembers after the contacts sync: a chat can only hold existing
// members). A class with fewer than two such people, or whose
// counselor is not in WeCom, gets no group; an existing group of such a
// class is held as it is.
//
// Sync diffs the desired groups against class_groups, our record of what
// we wrote (WeCom lists no chats and reads back only ones it is asked for),
// and makes the calls the difference needs: appchat/create for a new class,
// one appchat/update per changed group (rename, owner, members added and
// removed together). Nothing changed, nothing is called. Each successful
// call is recorded at once, so a run that stops part-way is resumed by the
// next one and nothing is applied twice: a create answered "chatid exists"
// (86215) — our own earlier create whose answer or record was lost — is
// adopted by reading the chat back, and an update WeCom refuses because our
// record is out of step (a member left the chat themselves) is redone from
// the chat as WeCom has it. A failed call does not stop the others; the
// Report lists it with the errcode and what to do. WeCom's quotas (1,000
// new chats a day and 1,000 changes an hour per corp) defer the rest of
// the run's creates or updates to a later run instead of failing them.
//
// WeCom has no API to delete or dissolve an app chat: the group of a class
// the data center abolishes is left alone and reported (Report.Abolished),
// and so is the group of a class whose students have all left at once (a
// graduating class keeps its group until the contacts sync deletes the
// graduates' accounts, which takes them out of every chat).
//
// The chats belong to the app that created them: appchat calls with any
// other app's token answer 86008. Options.Client must be the same app on
// every run, and its visible range must be the root department.
package classgroup
