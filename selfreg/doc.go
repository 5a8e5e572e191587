// Package selfreg is self-registration: how a teacher or a student joins
// the school's WeCom now that WeCom's own invitations are turned off. The
// person scans the QR code on a poster, says whether they are staff
// (教职工, 工号) or a student (学生, 学号), signs in to the unified identity
// platform (CAS), and enters their name and mobile. Check matches that
// against the data center's tables (dc_faculty, dc_students) and the mirror
// of WeCom's contacts; Register then has the member created through the
// same sync machinery as everyone else (Options.Enrol) and sends the
// welcome message (Options.Welcome). From then on the person logs in to
// WeCom with that phone and follows the WeChat plugin to use the platform
// from personal WeChat (docs/wecom.md §10).
//
// The userid of a self-registered member is their 工号 or 学号 exactly as
// the data center writes it: the rule contacts.BuildDesired applies to
// every member, so the nightly sync finds the person it would have made.
//
// Every refusal is a *Refusal naming the check that failed (unknown id,
// name mismatch, already a member, phone differs, ...) with a message and
// advice for the person, in Chinese. Attempts are rate limited per person
// (the CAS user) and per client IP over the coordination layer, so the
// limits hold across instances, and every attempt, refused or not, is
// written to the audit log with the mobile masked.
//
// selfreg takes plain values: no HTTP, no gin. handler/register.go is its
// page flow.
package selfreg
