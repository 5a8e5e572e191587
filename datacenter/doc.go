// Package datacenter reads the university data center's CSV exports into
// the intermediate tables (dc_departments, dc_faculty, dc_students), for
// data centers that cannot write those tables directly.
//
// A load is all or nothing: every file is parsed and checked (each field,
// keys unique, every department, college, class and counselor a row refers
// to present in the load or already in the tables), every problem is
// reported with its file and line, and only a load without one is written,
// in one transaction. The format and every check are documented in
// docs/datacenter.md; `wecomapp dc load` and `wecomapp dc check` are its
// command line.
package datacenter
