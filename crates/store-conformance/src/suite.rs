//! The storage conformance suite: each case takes a fresh store and checks one behaviour of the
//! port. `tests/conformance.rs` runs every case on SQLite and on PostgreSQL.
