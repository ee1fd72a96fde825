//! The company's registered data stores, and what the worker can do in them.
//!
//! - [`settings`]: the registry as configured (`[[stores]]`), validated at start.
//! - [`sql`] / [`database`]: PostgreSQL, MySQL/MariaDB and SQLite stores through sqlx.
//! - [`webhook`]: third-party processors called with a signed request (seed clause 11).
//! - `manual` stores have no code: the worker creates a task for staff and waits.
//!
//! A store is addressed by name; a subject by [`SubjectIds`] (addresses, IINs, phones). What a
//! store did is a [`TableReceipt`] per table — counts, never the data itself.

pub mod database;
pub mod settings;
pub mod sql;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use self::database::SqlStore;
use self::settings::{Identifier, StoreKind, StoreSettings};

/// How a subject is looked up in the stores.
///
/// The binding rule (README, "Never harm a subject"): the subject is the set of records that a
/// *verified address* in `emails` matches. The IINs and phones the sender typed may narrow that
/// set (several records share the address; the IIN picks one) or confirm it; they never add a
/// record the address does not match. Records that only the typed identifiers match are
/// reported as `outside` — never acted on, never disclosed. Only when staff say who the
/// request is about (`linked`, an audited decision) does every identifier find records.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubjectIds {
    /// Verified addresses: the anchors.
    pub emails: Vec<String>,
    pub iins: Vec<String>,
    pub phones: Vec<String>,
    /// Other addresses the sender typed ("I registered with old@…"): like IINs and phones they
    /// only narrow; the records they match are reached through the contact on file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub given_emails: Vec<String>,
    /// Staff linked these identifiers to the request: each of them finds records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub linked: bool,
}

impl SubjectIds {
    /// Whether the text offered identifiers of its own (IIN, phone, another address).
    pub fn typed(&self) -> bool {
        !self.iins.is_empty() || !self.phones.is_empty() || !self.given_emails.is_empty()
    }

    pub fn values(&self, identifier: Identifier) -> &[String] {
        match identifier {
            Identifier::Email => &self.emails,
            Identifier::Iin => &self.iins,
            Identifier::Phone => &self.phones,
        }
    }
}

/// The subject's rows in one store: table → primary keys (as text) of the *bound* rows (those
/// the request acts on), what each identifier matched, and any inconsistency.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoreMatch {
    pub tables: BTreeMap<String, Vec<String>>,
    pub conflicts: Vec<String>,
    /// Per table: how the rows were found (counts only).
    #[serde(default)]
    pub detail: BTreeMap<String, TableMatch>,
    /// E-mail addresses held by records that only the typed identifiers match (personal data:
    /// used to verify through the contact on file, never shown, logged or stored in plans).
    #[serde(skip)]
    pub on_file: BTreeSet<String>,
    /// Such records that hold no e-mail address.
    #[serde(default)]
    pub outside_without_address: usize,
}

/// How one table's rows were found: counts per identifier, never values.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableMatch {
    /// Rows the request acts on.
    pub bound: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iin: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<usize>,
    /// Rows only the typed identifiers match: never acted on.
    #[serde(skip_serializing_if = "is_zero")]
    pub outside: usize,
    /// Reached through this parent table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl StoreMatch {
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
    pub fn rows(&self) -> usize {
        self.tables.values().map(Vec::len).sum()
    }
    /// Records that the typed identifiers match but the address does not.
    pub fn outside(&self) -> usize {
        self.detail.values().map(|t| t.outside).sum()
    }
}

/// What one action did to one table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableReceipt {
    pub table: String,
    pub action: String,
    pub rows: u64,
    pub detail: serde_json::Value,
}

/// A row kept under a legal retention duty, to destroy after `destroy_after`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hold {
    pub store: String,
    pub table: String,
    pub row_key: String,
    pub destroy_after: NaiveDate,
    pub basis: String,
}

/// A subject's data in one store, for the access report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreData {
    pub store: String,
    pub location: Option<String>,
    pub tables: Vec<TableData>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableData {
    pub table: String,
    /// Category (seed clause 4) → columns.
    pub categories: BTreeMap<String, Vec<String>>,
    pub retention: Option<String>,
    pub rows: Vec<BTreeMap<String, Option<String>>>,
}

/// Every configured store, ready to use (SQL pools connect lazily).
pub struct Registry {
    pub settings: Vec<StoreSettings>,
    sql: BTreeMap<String, SqlStore>,
}

impl Registry {
    pub fn new(settings: &[StoreSettings]) -> anyhow::Result<Self> {
        let mut sql = BTreeMap::new();
        for s in settings.iter().filter(|s| s.kind.is_sql()) {
            sql.insert(s.name.clone(), SqlStore::new(s.clone())?);
        }
        Ok(Self {
            settings: settings.to_vec(),
            sql,
        })
    }

    pub fn sql(&self, name: &str) -> Option<&SqlStore> {
        self.sql.get(name)
    }

    pub fn sql_stores(&self) -> impl Iterator<Item = &SqlStore> {
        self.sql.values()
    }

    pub fn get(&self, name: &str) -> Option<&StoreSettings> {
        self.settings.iter().find(|s| s.name == name)
    }

    pub fn kind(&self, name: &str) -> Option<StoreKind> {
        self.get(name).map(|s| s.kind)
    }

    /// Names of third parties the data was shared with (webhook stores), for access reports.
    pub fn processors(&self) -> Vec<String> {
        self.settings
            .iter()
            .filter(|s| s.kind == StoreKind::Webhook)
            .map(|s| s.processor.clone().unwrap_or_else(|| s.name.clone()))
            .collect()
    }
}

/// `dsr-worker stores check`: per store, `Ok(warnings)` or the error that makes it unusable.
pub async fn check(registry: &Registry) -> Vec<(String, Result<Vec<String>, String>)> {
    let mut out = vec![];
    for store in &registry.settings {
        let result = match registry.sql(&store.name) {
            Some(sql) => sql.check().await.map_err(|e| format!("{e:#}")),
            None => match store.kind {
                StoreKind::Webhook => store.resolve_url().and_then(|_| {
                    let var = store.secret_env.as_deref().unwrap_or_default();
                    std::env::var(var)
                        .map(|_| vec![])
                        .map_err(|_| format!("signing key variable {var} is not set"))
                }),
                _ => Ok(vec![]),
            },
        };
        out.push((store.name.clone(), result));
    }
    out
}
