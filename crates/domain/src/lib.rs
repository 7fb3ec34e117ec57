//! kluis domain: the words of the product as types. Field catalogue and validation, subjects,
//! purposes and audit events. No I/O lives here.

pub mod access;
pub mod audit;
pub mod deadline;
pub mod fields;
pub mod ids;
pub mod purpose;
pub mod request;
pub mod subject;
pub mod time;

pub use ids::{AccountId, RequestId, SubjectId, TokenId};
pub use purpose::Purpose;
pub use subject::SubjectKind;
pub use time::Timestamp;
