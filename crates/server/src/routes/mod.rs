//! The route handlers, one module per resource.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod meta;
pub mod register;
pub mod subjects;
