// Package sms sends text messages to people outside WeCom: applicants,
// parents and off-campus users, who have a mobile number but no member
// account (notify's Recipients.Mobiles).
//
// A Gateway sends one message, an approved provider template with its
// parameters, to at most MaxMobiles numbers in one provider call. Two
// gateways exist: Tencent (Tencent Cloud SMS, SendSms of API version
// 2021-01-11, signed with TC3-HMAC-SHA256 by the Tencent Cloud SDK's common
// client) and smssim.Sim, an in-process stand-in for tests and the demo
// whose page shows what each number received.
//
// Before a message is sent, numbers go through Normalize (E.164 via
// libphonenumber's metadata; only mobiles, so a landline typed into a
// form is refused at once instead of failing at the provider) and the
// text through CheckText, which applies the provider's length rules: the
// signature 【…】 counts, 70 characters make one message, longer texts are
// billed in parts of 67, and signature and text together may not exceed
// 500 characters.
//
// Errors say whether a retry may help: IsRetriable, RetryAfter and
// MaybeSent read a failed call (*Error); per-number outcomes carry the
// same in Status. A malformed message is an *InvalidError, never
// retriable.
//
// Numbers are personal data. Nothing in this package logs a full number:
// log lines carry mask.Phone (+86 138****8000). Storing numbers, sealed,
// is the store's job.
package sms
