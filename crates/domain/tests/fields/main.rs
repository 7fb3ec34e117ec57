//! Integration tests of `kluis_domain::fields` through its public API: catalogue rules, batch
//! parsing, blind-index terms, messages, and property tests of every validator.

mod catalogue;
mod index;
mod messages;
mod props;
