//! End-to-end tests of mountPropagation (after test/e2e/node/mount_propagation.go).
