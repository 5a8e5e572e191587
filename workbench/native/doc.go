// Package native keeps each member's native WeCom workbench tile (the
// app's entry on the WeCom workbench, docs/wecom.md §7) showing their key
// figures — unread notices, pending approvals, new messages — as keydata.
//
// Callers Touch a member whenever one of their figures may have changed
// (and enter_agent touches them when they open the app). A touch is one
// durable upsert (store.TouchNativeTiles): a restart loses nothing, and
// many touches of one member before the next push round give one push.
// The round (Run, every Options.Batch) computes the figures at push time
// from our own records, so the last value always wins; skips members
// whose payload is what WeCom shows already; sends members with identical
// payloads together through batch_set_workbench_data (≤1000 a call: a
// notice reaching 36,000 people costs ~36 calls) and the others through
// set_workbench_data; and never pushes one member more than
// Options.PerMemberPerMinute times in a rolling minute (WeCom allows 10):
// a member over it stays dirty and goes in a later round, with the figures
// of that moment.
//
// One instance pushes at a time (a coord lock held for the round). A
// failed call leaves its members dirty with an attempt count and a
// backoff; a member WeCom refuses for good (outside the app's visible
// range, 60021; unknown, 60111) is settled with the reason and counted in
// Stats, not retried until touched again.
package native
