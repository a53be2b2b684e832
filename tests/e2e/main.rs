//! End-to-end tests of the evaltriage CLI.
