// Package handler holds the HTTP routes. It is the only package besides
// cmd that imports gin: a handler binds input, calls one domain function
// with the request's context and plain values, and writes the result.
// Business rules live in the domain packages.
package handler
