//! The route handlers, one module per resource.

pub mod audit;
pub mod meta;
pub mod register;
pub mod subjects;
