//! How a time crosses into either engine, so an area's SQL can be written once.
//!
//! PostgreSQL keeps an instant as `timestamptz`; SQLite as integer milliseconds since the
//! epoch (UTC), which orders exactly and needs no text parsing. [`Stamp`] is an instant
//! that binds and decodes as the engine it is used with keeps it, so the same line,
//! `.bind(Stamp(at))` or `row.time("created_at")?`, works on both.
//!
//! A list bound as one parameter is a [`List`]: an array on PostgreSQL, JSON text that
//! `json_each` reads on SQLite. The SQL that tests membership differs only in its words,
//! which each engine's `member_of!` macro writes.

use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Row, Sqlite, Type};

use super::StoreResult;
use super::error::StorageError;
use crate::attendance::Direction;
use crate::error::{CoreError, ErrorCode};
use crate::identity::{Principal, TokenHash};

/// An instant as the engine keeps it: `timestamptz` on PostgreSQL, milliseconds on SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(pub DateTime<Utc>);

impl Type<Postgres> for Stamp {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Stamp {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Stamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <DateTime<Utc> as Decode<Postgres>>::decode(value).map(Stamp)
    }
}

impl Type<Sqlite> for Stamp {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Stamp {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<Sqlite>>::encode_by_ref(&self.0.timestamp_millis(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Stamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let millis = <i64 as Decode<Sqlite>>::decode(value)?;
        DateTime::from_timestamp_millis(millis).map(Stamp).ok_or_else(|| "timestamp out of range".into())
    }
}

/// A list bound as one parameter: a PostgreSQL array, or a JSON array on SQLite.
#[derive(Debug, Clone, Copy)]
pub(crate) struct List<'a, T>(pub &'a [T]);

impl<T> Type<Postgres> for List<'_, T>
where
    T: sqlx::postgres::PgHasArrayType,
{
    fn type_info() -> PgTypeInfo {
        T::array_type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        T::array_compatible(ty)
    }
}

impl<'q, T> Encode<'q, Postgres> for List<'_, T>
where
    T: sqlx::postgres::PgHasArrayType + Encode<'q, Postgres> + Type<Postgres>,
{
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&[T] as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<T> Type<Sqlite> for List<'_, T> {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl<T: serde::Serialize> Encode<'_, Sqlite> for List<'_, T> {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(serde_json::to_string(self.0)?, buf)
    }
}

/// Reading instants from a row of either engine.
pub(crate) trait RowTimes {
    /// The instant in `column`.
    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>>;
    /// The instant in `column`, or `None` where it is null.
    fn maybe_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>>;
}

impl<R> RowTimes for R
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    Stamp: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        Ok(self.try_get::<Stamp, _>(column)?.0)
    }

    fn maybe_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self.try_get::<Option<Stamp>, _>(column)?.map(|stamp| stamp.0))
    }
}

/// The owner column and id of a principal's tokens.
pub(crate) fn token_owner(principal: &Principal) -> (&'static str, i64) {
    match principal {
        Principal::Staff { id, .. } => ("staff_id", *id),
        Principal::Volunteer { id } => ("volunteer_id", *id),
    }
}

pub(crate) fn hash_from(bytes: Vec<u8>) -> StoreResult<TokenHash> {
    bytes.try_into().map_err(|_| corrupt("token hash"))
}

/// Maps a unique violation on the volunteer table to its refusal. PostgreSQL names the
/// constraint; SQLite names the column in its message. A taken volunteer number stays a
/// storage conflict (`volunteer_number`), for the caller to draw another.
pub(crate) fn volunteer_conflict(e: sqlx::Error) -> CoreError {
    let e = StorageError::from(e);
    if e.is_conflict_on("wechat_binding") {
        CoreError::code(ErrorCode::WechatAlreadyBound)
    } else if e.is_conflict_on("id_number") {
        CoreError::code(ErrorCode::IdNumberTaken)
    } else if e.is_conflict_on("phone") {
        CoreError::code(ErrorCode::PhoneTaken)
    } else {
        CoreError::Storage(e)
    }
}

pub(crate) fn skills_json(skills: &[String]) -> String {
    serde_json::to_string(skills).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn parse_skills(json: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(json).map_err(|_| corrupt("skills"))
}

/// Parses a stored direction.
pub(crate) fn parse_direction(s: &str) -> StoreResult<Direction> {
    Direction::parse(s).ok_or_else(|| CoreError::Internal(format!("stored direction {s:?}")))
}

pub(crate) fn corrupt(what: &str) -> CoreError {
    CoreError::Internal(format!("stored {what} does not parse"))
}
