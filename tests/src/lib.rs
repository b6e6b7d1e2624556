//! Shared helpers for the black-box and multi-process tests.
