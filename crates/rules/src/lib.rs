//! The rule engine (work in progress).
