//! Plasmite (in progress).
