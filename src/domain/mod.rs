//! Domain newtypes that parse, not validate: a value of one of these types is always valid.
//!
//! `Iin`, `Bin` and `Phone` can only be built from text that passes their checks; `RequestKind`
//! only names the six data-subject request kinds; `RequestStatus` only the lifecycle's statuses; `Reference` is the `DSR-2026-000123` a subject
//! sees in every reply.

mod email_address;
mod iin;
mod kind;
mod language;
mod phone;
mod reference;
mod status;

pub use email_address::EmailAddress;
pub use iin::{Bin, Iin, IinError};
pub use kind::{MailKind, RequestKind};
pub use language::Language;
pub use phone::Phone;
pub use reference::Reference;
pub use status::{RequestStatus, UnknownStatus};
