//! The route handlers, one module per resource.

pub mod audit;
pub mod meta;
pub mod subjects;
