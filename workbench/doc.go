// Package workbench owns identities, roles, the functional modules and the
// role workbenches. Everything about a person comes from our own records
// (the data-center tables, people_ext and person_tags), never from WeCom
// reads: Person builds one Record per identity record, roles are
// expr-lang rules over a Record's Env, and the person's Home is the
// workbench of the role they act as, its tiles filtered by their own
// visibility rules.
//
// The catalog (modules, roles, workbenches, sections, tiles, campus
// content) lives in the database and in memory, compiled once per catalog
// version. Every admin save writes its audit row in the same transaction
// and bumps the version in coord, so every instance reloads within
// Options.Reload. It may import store and coord, never gin.
package workbench
