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
// store imports no other package of the project.
package store
