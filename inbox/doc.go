// Package inbox is the durable callback inbox: the HTTP callback endpoint
// commits each WeCom callback here (Accept) before answering WeCom, and a
// dispatcher (Run) later hands it to the handler registered for its kind.
//
// Why a table between the two: WeCom waits at most 5 seconds for an answer
// and re-sends what it got none for (docs/wecom.md §2.1), so the endpoint must
// answer at once and must never answer for something it did not keep. The
// unique index on (receiver, dedup key) collapses re-deliveries; leases let
// any number of instances dispatch from one database without handling a row
// twice at the same time; a crash between the answer and the handling loses
// nothing, because the row is still there when the lease runs out.
//
// Delivery is at least once. A handler may see an event again after a crash,
// a lost lease or a failed database write after it returned, so handlers must
// be idempotent (the contacts handler marks the object touched, which a
// second time changes nothing; the approval handler checks the task's state).
//
// Rows move pending → processing → done; a failing handler sends its row
// back to pending with exponential backoff and jitter, and after MaxAttempts
// to dead; a kind no handler is registered for goes to skipped (stored,
// counted in wecomapp_inbox_unhandled_total, logged at debug, never retried,
// and requeueable once a handler exists). A callback that is authentic but
// must not be dispatched (it does not parse, or names another app) is stored
// dead on arrival by AcceptDead, so nothing WeCom delivered is lost. Done
// and skipped rows are deleted after Retention (30 days by default); dead
// rows stay until an operator requeues or purges them (wecomapp inbox).
// See store.InboxState.
//
// Throughput: the dispatcher claims due rows in batches, keeps a few queued
// beyond its busy workers, and records successes many rows per commit, so
// dispatch keeps up with the rate callbacks are accepted. Leases stay the
// safety net: every write is checked against the claim, a queued row is
// renewed before its handler starts if it waited long, and a handler whose
// lease cannot be renewed is cancelled while a third of the lease is left,
// before any other dispatcher may take the row.
//
// Passive replies (the answer WeCom shows the member, e.g. to "help") can
// only travel in the HTTP response, so they come from synchronous, pure
// Repliers called by Accept, not from the dispatcher.
//
// Handlers and repliers are registered by cmd; inbox imports only store and
// wecom (and zap, prometheus), never gin or a domain package.
package inbox
