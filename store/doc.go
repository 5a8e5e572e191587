// Package store owns the SQL schema, its migrations and every SQL statement
// of the platform, on two engines: MySQL/MariaDB in production and SQLite
// (pure Go) for the embedded default and tests. Dialect differences (upsert,
// SKIP LOCKED, auto-increment) stay inside this package.
//
// Conventions: ctx first; methods written over sqlx.ExtContext so they run
// inside or outside a transaction; ErrNotFound and ErrConflict instead of
// (nil, nil); timestamps as Unix milliseconds (BIGINT), which compare and
// index the same way on both engines and carry no time zone.
//
// Sealed columns: values that identify or describe a person (phone and ID
// numbers, members' message text) are stored sealed with AES-256-GCM by the
// DB's Sealer (Options.Sealer, from security.data_key): each value names
// the key it is sealed under, so keys rotate (security.previous_data_keys,
// then wecomapp rekey, which Rekey implements), and is bound to its column,
// so values cannot be moved between columns. A lookup column beside a
// sealed one holds Sealer.Hash, a keyed HMAC of the normalised value, never
// the value. SealedColumns lists every sealed column; today the callback
// inbox's payload (change_contact under WeCom's legacy contact rules
// carries mobile and email) and the contacts mirror's mobile and email. A DB without a Sealer refuses to write or read
// a sealed column (ErrNoSealer); only plain SQL sees the sealed text.
//
// The data center's intermediate tables (dc_departments, dc_faculty,
// dc_students) are the data center's own drop zone: its nightly
// distribution writes them, in plaintext, with whatever it holds (mobile,
// email; later ID numbers), and their protection is the data center's and
// the database's access control, not ours. The platform reads them as org
// sync's desired state; nothing of ours copies their sensitive columns into
// another table, a log or a page unsealed: a table of ours that keeps such
// a value seals it and registers it in SealedColumns.
//
// store imports no other package of the project.
package store
