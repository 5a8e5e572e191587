// Package workbench will own roles, the 46 functional modules (tiles) and
// the 56 role workbenches, resolving a user's workbenches from their tags,
// departments and roles, and WeCom's native workbench data. It arrives with
// the identity-and-workbenches issue; the foundation only reserves its place
// in the architecture (see ARCHITECTURE.md): it may import store and wecom,
// and never gin.
package workbench
