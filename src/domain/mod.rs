//! Domain newtypes that parse, not validate: a value of one of these types is always valid.
//!
//! `Iin`, `Bin` and `Phone` can only be built from text that passes their checks; `RequestKind`
//! only names the six data-subject request kinds; `RequestStatus` only the lifecycle's statuses; `Reference` is the `DSR-2026-000123` a subject
//! sees in every reply.

/// Stores a domain enum in a PostgreSQL `text` column by its name (`as_str`), and reads it
/// back through `FromStr`: a row holding a name the enum does not know fails to decode, with
/// the name in the error.
macro_rules! text_column {
    ($t:ty) => {
        impl sqlx::Type<sqlx::Postgres> for $t {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Postgres> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $t {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                s.parse::<$t>().map_err(|e| e.to_string().into())
            }
        }
    };
}
pub(crate) use text_column;

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
