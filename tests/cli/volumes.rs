//! End-to-end tests of volumes: subPath and subPathExpr (after test/e2e/storage/testsuites/subpath.go).
