//! A registered SQL store (PostgreSQL, MySQL/MariaDB, SQLite through sqlx `Any`): find a
//! subject's rows, check open obligations, carry out a request kind in one transaction, gather
//! a subject's data for an access report, and check the configuration against the schema.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Row};

use super::settings::{
    Action, Anonymisation, BlockMethod, Identifier, StoreSettings, TableSettings,
};
use super::sql::{Dialect, Statement, Value};
use super::{Hold, StoreData, StoreMatch, SubjectIds, TableData, TableMatch, TableReceipt};
use crate::domain::RequestKind;

/// A store that cannot be reached, or did not answer within its limits: worth trying again
/// later, and not worth trying its other work in the same run. Whatever it was doing is rolled
/// back (its transaction is dropped, never committed).
#[derive(Debug, thiserror::Error)]
#[error("store {store}: {reason}")]
pub struct Unavailable {
    pub store: String,
    pub reason: String,
}

/// A store transaction that did its work and waits for the caller's records before commit.
pub struct Applied {
    store: String,
    limit: Duration,
    tx: sqlx::Transaction<'static, sqlx::Any>,
    pub receipts: Vec<TableReceipt>,
    pub holds: Vec<Hold>,
}

impl Applied {
    pub async fn commit(self) -> anyhow::Result<()> {
        commit(self.store, self.limit, self.tx).await
    }
}

/// What the end of a legal hold found for its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldRow {
    /// Still blocked, now deleted (the count of rows deleted).
    Destroyed(u64),
    /// The row is there but no longer blocked (staff unblocked it): left in place.
    NotBlocked,
    /// The row is no longer there (destroyed before, or deleted by someone else).
    Gone,
}

/// The end of one hold in an open store transaction: the caller records it in its own database
/// first, then commits the store ([`HeldDestruction::commit`]). Dropping it rolls back.
pub struct HeldDestruction {
    store: String,
    limit: Duration,
    tx: sqlx::Transaction<'static, sqlx::Any>,
    pub row: HeldRow,
}

impl HeldDestruction {
    pub async fn commit(self) -> anyhow::Result<()> {
        commit(self.store, self.limit, self.tx).await
    }
}

async fn commit(
    store: String,
    limit: Duration,
    tx: sqlx::Transaction<'static, sqlx::Any>,
) -> anyhow::Result<()> {
    match tokio::time::timeout(limit, tx.commit()).await {
        Ok(done) => done.with_context(|| context(&store, "COMMIT")),
        Err(_) => Err(anyhow::Error::new(Unavailable {
            reason: format!("COMMIT timed out after {} s", limit.as_secs()),
            store,
        })),
    }
}

pub struct SqlStore {
    pub settings: StoreSettings,
    dialect: Dialect,
    pool: AnyPool,
    /// The backstop around every operation (`operation_timeout_secs`).
    limit: Duration,
}

/// Errors never carry the connection URL.
fn context(store: &str, what: &str) -> String {
    format!("store {store}: {what}")
}

impl SqlStore {
    /// Prepares a lazily connected pool (nothing is contacted yet).
    pub fn new(settings: StoreSettings) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of(settings.kind)
            .ok_or_else(|| anyhow::anyhow!("store {} is not a SQL store", settings.name))?;
        let url = settings.resolve_url().map_err(anyhow::Error::msg)?;
        let limits = SessionLimits {
            statement: Duration::from_secs(settings.statement_timeout_secs),
            lock: Duration::from_secs(settings.lock_timeout_secs),
            idle_in_transaction: Duration::from_secs(settings.operation_timeout_secs),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            .after_connect(move |conn, _| Box::pin(limits.apply(conn, dialect)))
            .connect_lazy(url.expose())
            .map_err(|e| {
                anyhow::anyhow!(
                    "store {}: invalid connection URL: {}",
                    settings.name,
                    scrub(&e.to_string())
                )
            })?;
        Ok(Self {
            limit: Duration::from_secs(settings.operation_timeout_secs.max(1)),
            settings,
            dialect,
            pool,
        })
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    fn unavailable(&self, reason: String) -> anyhow::Error {
        anyhow::Error::new(Unavailable {
            store: self.name().to_owned(),
            reason,
        })
    }

    async fn connection(&self) -> anyhow::Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        self.pool
            .acquire()
            .await
            .map_err(|e| self.unavailable(format!("cannot connect: {}", scrub(&e.to_string()))))
    }

    async fn begin(&self) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Any>> {
        self.pool
            .begin()
            .await
            .map_err(|e| self.unavailable(format!("cannot connect: {}", scrub(&e.to_string()))))
    }

    /// Runs one store operation under the backstop: past `operation_timeout_secs` it is dropped
    /// (its transaction, if any, rolls back) and the caller gets a retryable [`Unavailable`].
    async fn within<T>(
        &self,
        what: &str,
        operation: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        match tokio::time::timeout(self.limit, operation).await {
            Ok(result) => result,
            Err(_) => Err(self.unavailable(format!(
                "{what} timed out after {} s (operation_timeout_secs); rolled back",
                self.limit.as_secs()
            ))),
        }
    }

    fn q(&self, name: &str) -> String {
        self.dialect.quote(name)
    }

    /// Tables in an order where children come before their parents (safe for deletes).
    fn children_first(&self) -> Vec<&TableSettings> {
        let depth = |t: &TableSettings| {
            let mut d = 0;
            let mut cur = t;
            while let Some(p) = cur
                .parent
                .as_ref()
                .and_then(|p| self.settings.table(&p.table))
            {
                d += 1;
                cur = p;
                if d > 16 {
                    break;
                }
            }
            d
        };
        let mut tables: Vec<&TableSettings> = self.settings.tables.iter().collect();
        tables.sort_by_key(|t| std::cmp::Reverse(depth(t)));
        tables
    }

    /// Finds the subject's rows in every table (parents first, then children by key).
    pub async fn find(&self, who: &SubjectIds) -> anyhow::Result<StoreMatch> {
        self.within("finding the subject", async {
            let mut conn = self.connection().await?;
            self.find_on(&mut conn, who).await
        })
        .await
    }

    async fn find_on(
        &self,
        conn: &mut AnyConnection,
        who: &SubjectIds,
    ) -> anyhow::Result<StoreMatch> {
        let mut found = StoreMatch::default();
        let mut order = self.children_first();
        order.reverse();
        for table in order {
            let (keys, detail) = if let Some(parent) = &table.parent {
                let parent_keys = found.tables.get(&parent.table).cloned().unwrap_or_default();
                let keys = if parent_keys.is_empty() {
                    BTreeSet::new()
                } else {
                    let mut s = Statement::new(self.dialect);
                    s.push("SELECT ")
                        .push(&self.dialect.text(&self.q(&table.key)))
                        .push(" FROM ")
                        .push(&self.q(&table.name))
                        .push(" WHERE ")
                        .push(&self.dialect.text(&self.q(&parent.column)))
                        .push(" IN ")
                        .bind_list(&parent_keys);
                    self.keys(conn, &s).await?
                };
                let detail = TableMatch {
                    bound: keys.len(),
                    via: Some(parent.table.clone()),
                    ..Default::default()
                };
                (keys, detail)
            } else {
                self.bind_root(conn, table, who, &mut found).await?
            };
            if detail != TableMatch::default() {
                found.detail.insert(table.name.clone(), detail);
            }
            if !keys.is_empty() {
                found
                    .tables
                    .insert(table.name.clone(), keys.into_iter().collect());
            }
        }
        Ok(found)
    }

    /// The rows of a table found directly by identifiers, under the binding rule of
    /// [`SubjectIds`]: the verified address anchors, typed identifiers only narrow.
    async fn bind_root(
        &self,
        conn: &mut AnyConnection,
        table: &TableSettings,
        who: &SubjectIds,
        found: &mut StoreMatch,
    ) -> anyhow::Result<(BTreeSet<String>, TableMatch)> {
        let mut by: BTreeMap<Identifier, BTreeSet<String>> = BTreeMap::new();
        for (identifier, column) in &table.identifiers {
            let values = who.values(*identifier);
            if values.is_empty() {
                continue;
            }
            let mut s = Statement::new(self.dialect);
            let col = self.dialect.text(&self.q(column));
            s.push("SELECT ")
                .push(&self.dialect.text(&self.q(&table.key)))
                .push(" FROM ")
                .push(&self.q(&table.name))
                .push(" WHERE ");
            if *identifier == Identifier::Email {
                let lowered: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
                s.push(&format!("LOWER({col}) IN ")).bind_list(&lowered);
            } else {
                s.push(&format!("{col} IN ")).bind_list(values);
            }
            by.insert(*identifier, self.keys(conn, &s).await?);
        }
        let count = |i: Identifier| by.get(&i).map(BTreeSet::len);
        let mut detail = TableMatch {
            email: count(Identifier::Email),
            iin: count(Identifier::Iin),
            phone: count(Identifier::Phone),
            ..Default::default()
        };
        let at = format!("{}.{}", self.name(), table.name);
        if who.linked {
            // Staff said who it is: every identifier finds records; disagreement is shown.
            let hits: Vec<(&Identifier, &BTreeSet<String>)> =
                by.iter().filter(|(_, k)| !k.is_empty()).collect();
            for pair in hits.windows(2) {
                if pair[0].1 != pair[1].1 {
                    found.conflicts.push(format!(
                        "in {at}, the {:?} and the {:?} point at different records",
                        pair[0].0, pair[1].0
                    ));
                }
            }
            if hits.iter().any(|(_, k)| k.len() > 1) {
                found
                    .conflicts
                    .push(format!("in {at}, one identifier matches several records"));
            }
            let keys: BTreeSet<String> = by.into_values().flatten().collect();
            detail.bound = keys.len();
            return Ok((keys, detail));
        }
        let anchored = by.remove(&Identifier::Email).unwrap_or_default();
        let mut typed: BTreeSet<String> = by.into_values().flatten().collect();
        if let (Some(column), false) = (
            table.identifiers.get(&Identifier::Email),
            who.given_emails.is_empty(),
        ) {
            let lowered: Vec<String> = who.given_emails.iter().map(|v| v.to_lowercase()).collect();
            let mut s = Statement::new(self.dialect);
            let col = self.dialect.text(&self.q(column));
            s.push("SELECT ")
                .push(&self.dialect.text(&self.q(&table.key)))
                .push(" FROM ")
                .push(&self.q(&table.name))
                .push(&format!(" WHERE LOWER({col}) IN "))
                .bind_list(&lowered);
            typed.extend(self.keys(conn, &s).await?);
        }
        let narrowed: BTreeSet<String> = anchored.intersection(&typed).cloned().collect();
        let bound = if narrowed.is_empty() {
            anchored.clone()
        } else {
            narrowed
        };
        let outside: Vec<String> = typed.difference(&anchored).cloned().collect();
        detail.bound = bound.len();
        detail.outside = outside.len();
        if bound.len() > 1 {
            found.conflicts.push(format!(
                "in {at}, the address matches {} records and nothing given tells them apart",
                bound.len()
            ));
        }
        if !outside.is_empty() {
            if bound.is_empty() {
                // Nobody here under this address: the typed identifiers point at someone whose
                // own address is the only way to ask them.
                let addresses = self.addresses_on_file(conn, table, &outside).await?;
                found.outside_without_address += outside.len() - addresses.len().min(outside.len());
                found.on_file.extend(addresses);
            } else {
                found.conflicts.push(format!(
                    "in {at}, an identifier in the text matches {} record(s) the address does not",
                    outside.len()
                ));
            }
        }
        Ok((bound, detail))
    }

    /// The e-mail addresses held by `keys` (lower-cased, non-empty), one per record at most.
    async fn addresses_on_file(
        &self,
        conn: &mut AnyConnection,
        table: &TableSettings,
        keys: &[String],
    ) -> anyhow::Result<Vec<String>> {
        let Some(column) = table.identifiers.get(&Identifier::Email) else {
            return Ok(vec![]);
        };
        let mut s = Statement::new(self.dialect);
        s.push("SELECT ")
            .push(&self.dialect.text(&self.q(column)))
            .push(" FROM ")
            .push(&self.q(&table.name))
            .push(" WHERE ");
        self.key_in(&mut s, table, keys);
        let rows = s
            .fetch_all(conn)
            .await
            .with_context(|| context(self.name(), "reading the contact on file"))?;
        let mut out = vec![];
        for row in rows {
            if let Some(address) = row.try_get::<Option<String>, _>(0)? {
                let address = address.trim().to_lowercase();
                if crate::domain::EmailAddress::parse(&address).is_ok() {
                    out.push(address);
                }
            }
        }
        Ok(out)
    }

    async fn keys(
        &self,
        conn: &mut AnyConnection,
        s: &Statement,
    ) -> anyhow::Result<BTreeSet<String>> {
        let rows = s
            .fetch_all(conn)
            .await
            .with_context(|| context(self.name(), "finding the subject"))?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(anyhow::Error::from))
            .collect()
    }

    /// Names of the obligations (art. 8(2)) still open for the matched rows.
    pub async fn open_obligations(&self, found: &StoreMatch) -> anyhow::Result<Vec<String>> {
        self.within("the obligation check", self.open_obligations_now(found))
            .await
    }

    async fn open_obligations_now(&self, found: &StoreMatch) -> anyhow::Result<Vec<String>> {
        let mut conn = self.connection().await?;
        let mut open = vec![];
        for obligation in &self.settings.obligations {
            let table = self.settings.table(&obligation.table).expect("validated");
            let Some(keys) = found.tables.get(&table.name) else {
                continue;
            };
            let mut s = Statement::new(self.dialect);
            s.push("SELECT COUNT(*) FROM ")
                .push(&self.q(&table.name))
                .push(" WHERE ")
                .push(&self.dialect.text(&self.q(&table.key)))
                .push(" IN ")
                .bind_list(keys)
                .push(" AND (")
                // Trusted configuration written by the company's engineers, validated to be
                // one condition; never derived from mail.
                .push(&obligation.open_when)
                .push(")");
            let rows = s.fetch_all(&mut conn).await.with_context(|| {
                context(
                    self.name(),
                    &format!("obligation check {}", obligation.name),
                )
            })?;
            let count: i64 = rows.first().map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
            if count > 0 {
                open.push(obligation.name.clone());
            }
        }
        Ok(open)
    }

    /// Carries out `kind` for the subject inside one store transaction and returns it still
    /// open, with what was done per table: the caller records receipts and holds in its own
    /// database first, then commits the store ([`Applied::commit`]). Dropping it rolls back.
    /// Finding happens inside the transaction, so a repeat finds what is left and changes
    /// nothing more.
    pub async fn apply(
        &self,
        kind: RequestKind,
        who: &SubjectIds,
        hash_key: &[u8],
        today: NaiveDate,
    ) -> anyhow::Result<Applied> {
        self.within(
            &format!("carrying out {kind}"),
            self.apply_now(kind, who, hash_key, today),
        )
        .await
    }

    async fn apply_now(
        &self,
        kind: RequestKind,
        who: &SubjectIds,
        hash_key: &[u8],
        today: NaiveDate,
    ) -> anyhow::Result<Applied> {
        let mut tx = self.begin().await?;
        let found = self.find_on(&mut tx, who).await?;
        let mut receipts = vec![];
        let mut holds = vec![];
        for table in self.children_first() {
            let Some(action) = table.actions.get(&kind) else {
                continue;
            };
            // A table with nothing (left) of the subject still gets its receipt: 0 rows.
            let keys = found.tables.get(&table.name).cloned().unwrap_or_default();
            let keys = &keys;
            let (name, rows) = match action {
                Action::Keep => continue,
                Action::Block => ("block", self.block(&mut tx, table, keys).await?),
                Action::Delete => ("delete", self.delete(&mut tx, table, keys).await?),
                Action::Set(values) => ("set", self.set(&mut tx, table, keys, values).await?),
                Action::Anonymise(columns) => (
                    "anonymise",
                    self.anonymise(&mut tx, table, keys, columns, hash_key)
                        .await?,
                ),
                Action::Retain => {
                    let retention = table.retention.as_ref().expect("validated");
                    let (keep, expired) =
                        self.split_by_retention(&mut tx, table, keys, today).await?;
                    let blocked = self
                        .block(
                            &mut tx,
                            table,
                            &keep.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
                        )
                        .await?;
                    let deleted = self.delete(&mut tx, table, &expired).await?;
                    for (key, until) in &keep {
                        holds.push(Hold {
                            store: self.name().to_owned(),
                            table: table.name.clone(),
                            row_key: key.clone(),
                            destroy_after: *until,
                            basis: retention.basis.clone(),
                        });
                    }
                    receipts.push(TableReceipt {
                        table: table.name.clone(),
                        action: "retain".into(),
                        rows: blocked,
                        detail: serde_json::json!({
                            "blocked_under_hold": keep.len(),
                            "newly_blocked": blocked,
                            "deleted_past_retention": deleted,
                            "basis": retention.basis,
                        }),
                    });
                    continue;
                }
            };
            receipts.push(TableReceipt {
                table: table.name.clone(),
                action: name.into(),
                rows,
                detail: serde_json::json!({ "matched": keys.len() }),
            });
        }
        Ok(Applied {
            store: self.name().to_owned(),
            limit: self.limit,
            tx,
            receipts,
            holds,
        })
    }

    fn key_in(&self, s: &mut Statement, table: &TableSettings, keys: &[String]) {
        s.push(&self.dialect.text(&self.q(&table.key)))
            .push(" IN ")
            .bind_list(keys);
    }

    async fn block(
        &self,
        tx: &mut AnyConnection,
        table: &TableSettings,
        keys: &[String],
    ) -> anyhow::Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut s = Statement::new(self.dialect);
        match table.block.as_ref().expect("validated") {
            BlockMethod::Flag { column } => {
                let col = self.q(column);
                s.push("UPDATE ")
                    .push(&self.q(&table.name))
                    .push(&format!(" SET {col} = "))
                    .bind(Value::Bool(true))
                    .push(" WHERE ");
                self.key_in(&mut s, table, keys);
                s.push(&format!(" AND ({col} IS NULL OR {col} = "))
                    .bind(Value::Bool(false))
                    .push(")");
            }
            BlockMethod::List {
                table: list,
                column,
            } => {
                let (list, column) = (self.q(list), self.q(column));
                let key = self.q(&table.key);
                s.push(&format!(
                    "INSERT INTO {list} ({column}) SELECT t.{key} FROM "
                ))
                .push(&self.q(&table.name))
                .push(" t WHERE ")
                .push(&self.dialect.text(&format!("t.{key}")))
                .push(" IN ")
                .bind_list(keys)
                .push(&format!(
                    " AND NOT EXISTS (SELECT 1 FROM {list} b WHERE b.{column} = t.{key})"
                ));
            }
        }
        s.execute(tx)
            .await
            .with_context(|| context(self.name(), &format!("blocking in {}", table.name)))
    }

    async fn delete(
        &self,
        tx: &mut AnyConnection,
        table: &TableSettings,
        keys: &[String],
    ) -> anyhow::Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut s = Statement::new(self.dialect);
        s.push("DELETE FROM ")
            .push(&self.q(&table.name))
            .push(" WHERE ");
        self.key_in(&mut s, table, keys);
        s.execute(tx)
            .await
            .with_context(|| context(self.name(), &format!("deleting from {}", table.name)))
    }

    async fn set(
        &self,
        tx: &mut AnyConnection,
        table: &TableSettings,
        keys: &[String],
        values: &BTreeMap<String, toml::Value>,
    ) -> anyhow::Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut s = Statement::new(self.dialect);
        s.push("UPDATE ").push(&self.q(&table.name)).push(" SET ");
        for (i, (column, value)) in values.iter().enumerate() {
            if i > 0 {
                s.push(", ");
            }
            s.push(&self.q(column)).push(" = ").bind(toml_value(value));
        }
        s.push(" WHERE ");
        self.key_in(&mut s, table, keys);
        // Only rows that still differ count as changed.
        s.push(" AND NOT (");
        for (i, (column, value)) in values.iter().enumerate() {
            if i > 0 {
                s.push(" AND ");
            }
            let col = self.q(column);
            s.push(&format!("{col} IS NOT NULL AND {col} = "))
                .bind(toml_value(value));
        }
        s.push(")");
        s.execute(tx)
            .await
            .with_context(|| context(self.name(), &format!("updating {}", table.name)))
    }

    async fn anonymise(
        &self,
        tx: &mut AnyConnection,
        table: &TableSettings,
        keys: &[String],
        columns: &BTreeMap<String, String>,
        hash_key: &[u8],
    ) -> anyhow::Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let names: Vec<&String> = columns.keys().collect();
        let mut read = Statement::new(self.dialect);
        read.push("SELECT ")
            .push(&self.dialect.text(&self.q(&table.key)));
        for c in &names {
            read.push(", ").push(&self.dialect.text(&self.q(c)));
        }
        read.push(" FROM ")
            .push(&self.q(&table.name))
            .push(" WHERE ");
        self.key_in(&mut read, table, keys);
        let rows = read
            .fetch_all(tx)
            .await
            .with_context(|| context(self.name(), &format!("reading {}", table.name)))?;
        let mut changed = 0;
        for row in rows {
            let key: String = row.try_get(0)?;
            let mut s = Statement::new(self.dialect);
            s.push("UPDATE ").push(&self.q(&table.name)).push(" SET ");
            let mut differs = false;
            for (i, column) in names.iter().enumerate() {
                let current: Option<String> = row.try_get(i + 1)?;
                let new = match Anonymisation::parse(&columns[*column]).expect("validated") {
                    Anonymisation::Null => None,
                    Anonymisation::Text(t) => Some(t),
                    Anonymisation::Hash => current.as_ref().map(|v| {
                        if is_hash(v) {
                            v.clone()
                        } else {
                            keyed_hash(hash_key, v)
                        }
                    }),
                };
                differs |= new != current;
                if i > 0 {
                    s.push(", ");
                }
                s.push(&self.q(column))
                    .push(" = ")
                    .bind(new.map(Value::Text).unwrap_or(Value::Null));
            }
            if !differs {
                continue;
            }
            s.push(" WHERE ")
                .push(&self.dialect.text(&self.q(&table.key)))
                .push(" = ")
                .bind(Value::Text(key));
            changed += s
                .execute(tx)
                .await
                .with_context(|| context(self.name(), &format!("anonymising {}", table.name)))?;
        }
        Ok(changed)
    }

    /// Splits rows into (still under retention, with the date it ends) and (past it).
    async fn split_by_retention(
        &self,
        tx: &mut AnyConnection,
        table: &TableSettings,
        keys: &[String],
        today: NaiveDate,
    ) -> anyhow::Result<(Vec<(String, NaiveDate)>, Vec<String>)> {
        let retention = table.retention.as_ref().expect("validated");
        if keys.is_empty() {
            return Ok((vec![], vec![]));
        }
        let mut s = Statement::new(self.dialect);
        s.push("SELECT ")
            .push(&self.dialect.text(&self.q(&table.key)))
            .push(", ")
            .push(&self.dialect.text(&self.q(&retention.column)))
            .push(" FROM ")
            .push(&self.q(&table.name))
            .push(" WHERE ");
        self.key_in(&mut s, table, keys);
        let rows = s.fetch_all(tx).await.with_context(|| {
            context(self.name(), &format!("reading retention of {}", table.name))
        })?;
        let (mut keep, mut expired) = (vec![], vec![]);
        for row in rows {
            let key: String = row.try_get(0)?;
            let from: Option<String> = row.try_get(1)?;
            // An unreadable or missing date keeps the row: never destroy on a guess.
            let until = from
                .as_deref()
                .and_then(|d| d.get(..10))
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map(|d| add_years(d, retention.years));
            match until {
                Some(until) if until <= today => expired.push(key),
                Some(until) => keep.push((key, until)),
                None => keep.push((key, add_years(today, retention.years))),
            }
        }
        Ok((keep, expired))
    }

    /// Ends the hold of one row in an open store transaction: deletes it if it is still
    /// blocked; tells whether it was no longer blocked (left alone) or no longer there. A
    /// blocklist entry of a destroyed row goes with it.
    pub async fn destroy_held(&self, table: &str, key: &str) -> anyhow::Result<HeldDestruction> {
        self.within("destroying a held row", self.destroy_held_now(table, key))
            .await
    }

    async fn destroy_held_now(&self, table: &str, key: &str) -> anyhow::Result<HeldDestruction> {
        let table = self.settings.table(table).ok_or_else(|| {
            anyhow::anyhow!(
                "store {}: table {table} is no longer configured",
                self.name()
            )
        })?;
        let block = table.block.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "store {}: table {} has no block method any more: cannot tell whether a held row is still blocked",
                self.name(),
                table.name
            )
        })?;
        let keys = [key.to_owned()];
        let mut tx = self.begin().await?;
        let mut s = Statement::new(self.dialect);
        s.push("DELETE FROM ")
            .push(&self.q(&table.name))
            .push(" WHERE ");
        self.key_in(&mut s, table, &keys);
        match block {
            BlockMethod::Flag { column } => {
                s.push(&format!(" AND {} = ", self.q(column)))
                    .bind(Value::Bool(true));
            }
            BlockMethod::List {
                table: list,
                column,
            } => {
                s.push(&format!(
                    " AND EXISTS (SELECT 1 FROM {list} b WHERE b.{column} = {table}.{key})",
                    list = self.q(list),
                    column = self.q(column),
                    table = self.q(&table.name),
                    key = self.q(&table.key),
                ));
            }
        }
        let deleted = s.execute(&mut tx).await.with_context(|| {
            context(
                self.name(),
                &format!("destroying a held row of {}", table.name),
            )
        })?;
        let row = if deleted > 0 {
            if let BlockMethod::List {
                table: list,
                column,
            } = block
            {
                let mut s = Statement::new(self.dialect);
                s.push("DELETE FROM ")
                    .push(&self.q(list))
                    .push(" WHERE ")
                    .push(&self.dialect.text(&self.q(column)))
                    .push(" = ")
                    .bind(Value::Text(key.to_owned()));
                s.execute(&mut tx)
                    .await
                    .with_context(|| context(self.name(), &format!("clearing blocklist {list}")))?;
            }
            HeldRow::Destroyed(deleted)
        } else {
            let mut s = Statement::new(self.dialect);
            s.push("SELECT COUNT(*) FROM ")
                .push(&self.q(&table.name))
                .push(" WHERE ");
            self.key_in(&mut s, table, &keys);
            let rows = s
                .fetch_all(&mut tx)
                .await
                .with_context(|| context(self.name(), &format!("reading {}", table.name)))?;
            let n: i64 = rows.first().map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
            if n > 0 {
                HeldRow::NotBlocked
            } else {
                HeldRow::Gone
            }
        };
        Ok(HeldDestruction {
            store: self.name().to_owned(),
            limit: self.limit,
            tx,
            row,
        })
    }

    /// Every configured column of the subject's rows, as text, for the access report.
    pub async fn gather(&self, who: &SubjectIds) -> anyhow::Result<StoreData> {
        self.within("gathering the subject's data", self.gather_now(who))
            .await
    }

    async fn gather_now(&self, who: &SubjectIds) -> anyhow::Result<StoreData> {
        let mut conn = self.connection().await?;
        let found = self.find_on(&mut conn, who).await?;
        let mut data = StoreData {
            store: self.name().to_owned(),
            location: self.settings.location.clone(),
            tables: vec![],
        };
        for table in &self.settings.tables {
            let Some(keys) = found.tables.get(&table.name) else {
                continue;
            };
            let mut columns: Vec<String> = table.identifiers.values().cloned().collect();
            for c in table.categories.keys() {
                if !columns.contains(c) {
                    columns.push(c.clone());
                }
            }
            let mut s = Statement::new(self.dialect);
            s.push("SELECT ");
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    s.push(", ");
                }
                s.push(&self.dialect.text(&self.q(c)));
            }
            s.push(" FROM ").push(&self.q(&table.name)).push(" WHERE ");
            self.key_in(&mut s, table, keys);
            s.push(" ORDER BY ").push(&self.q(&table.key));
            let rows = s
                .fetch_all(&mut conn)
                .await
                .with_context(|| context(self.name(), &format!("reading {}", table.name)))?;
            let mut out = vec![];
            for row in rows {
                let mut record = BTreeMap::new();
                for (i, c) in columns.iter().enumerate() {
                    record.insert(c.clone(), row.try_get::<Option<String>, _>(i)?);
                }
                out.push(record);
            }
            let mut categories: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (column, category) in &table.categories {
                categories
                    .entry(category.clone())
                    .or_default()
                    .push(column.clone());
            }
            for (identifier, column) in &table.identifiers {
                let category =
                    table
                        .categories
                        .get(column)
                        .cloned()
                        .unwrap_or_else(|| match identifier {
                            Identifier::Iin => "identity".into(),
                            _ => "contacts".into(),
                        });
                let list = categories.entry(category).or_default();
                if !list.contains(column) {
                    list.push(column.clone());
                }
            }
            data.tables.push(TableData {
                table: table.name.clone(),
                categories,
                retention: table
                    .retention
                    .as_ref()
                    .map(|r| format!("{} ({} years from {})", r.basis, r.years, r.column)),
                rows: out,
            });
        }
        Ok(data)
    }

    /// Connects and checks every configured table and column; warns about unindexed identifiers.
    pub async fn check(&self) -> anyhow::Result<Vec<String>> {
        self.within("the check", self.check_now()).await
    }

    async fn check_now(&self) -> anyhow::Result<Vec<String>> {
        let mut conn = self.connection().await?;
        let mut warnings = vec![];
        for table in &self.settings.tables {
            if table.parent.is_none() && !table.identifiers.contains_key(&Identifier::Email) {
                // The subject is anchored on a verified address: a table that holds no address
                // (and hangs off no table that does) is reached only by staff linking a subject.
                warnings.push(format!(
                    "store {}: {} has no e-mail identifier or parent: requests reach its rows only when staff link a subject",
                    self.name(),
                    table.name
                ));
            }
            let mut columns: BTreeSet<&String> = BTreeSet::new();
            columns.insert(&table.key);
            columns.extend(table.identifiers.values());
            columns.extend(table.categories.keys());
            if let Some(p) = &table.parent {
                columns.insert(&p.column);
            }
            if let Some(r) = &table.retention {
                columns.insert(&r.column);
            }
            if let Some(BlockMethod::Flag { column }) = &table.block {
                columns.insert(column);
            }
            for action in table.actions.values() {
                match action {
                    Action::Anonymise(m) => columns.extend(m.keys()),
                    Action::Set(m) => columns.extend(m.keys()),
                    _ => {}
                }
            }
            for column in &columns {
                let mut s = Statement::new(self.dialect);
                s.push("SELECT ")
                    .push(&self.q(column))
                    .push(" FROM ")
                    .push(&self.q(&table.name))
                    .push(" WHERE 1 = 0");
                if let Err(e) = s.fetch_all(&mut conn).await {
                    anyhow::bail!(
                        "store {}: {}.{} is not readable: {}",
                        self.name(),
                        table.name,
                        column,
                        scrub(&e.to_string())
                    );
                }
            }
            if let Some(BlockMethod::List {
                table: list,
                column,
            }) = &table.block
            {
                let mut s = Statement::new(self.dialect);
                s.push("SELECT ")
                    .push(&self.q(column))
                    .push(" FROM ")
                    .push(&self.q(list))
                    .push(" WHERE 1 = 0");
                if let Err(e) = s.fetch_all(&mut conn).await {
                    anyhow::bail!(
                        "store {}: blocklist {}.{} is not readable: {}",
                        self.name(),
                        list,
                        column,
                        scrub(&e.to_string())
                    );
                }
            }
            let mut lookups: Vec<&String> = table.identifiers.values().collect();
            if let Some(p) = &table.parent {
                lookups.push(&p.column);
            }
            for column in lookups {
                if !self
                    .indexed(&mut conn, &table.name, column)
                    .await
                    .unwrap_or(true)
                {
                    warnings.push(format!(
                        "store {}: {}.{} has no index; finding a subject scans the table",
                        self.name(),
                        table.name,
                        column
                    ));
                }
            }
        }
        Ok(warnings)
    }

    async fn indexed(
        &self,
        conn: &mut AnyConnection,
        table: &str,
        column: &str,
    ) -> anyhow::Result<bool> {
        let mut s = Statement::new(self.dialect);
        match self.dialect {
            Dialect::Postgres => s
                .push("SELECT COUNT(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass(")
                .bind(Value::Text(format!("\"{table}\"")))
                .push(") AND a.attname = ")
                .bind(Value::Text(column.to_owned())),
            Dialect::Mysql => s
                .push("SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ")
                .bind(Value::Text(table.to_owned()))
                .push(" AND column_name = ")
                .bind(Value::Text(column.to_owned()))
                .push(" AND seq_in_index = 1"),
            Dialect::Sqlite => s
                .push("SELECT COUNT(*) FROM pragma_index_list(")
                .bind(Value::Text(table.to_owned()))
                .push(") il JOIN pragma_index_info(il.name) ii WHERE ii.seqno = 0 AND ii.name = ")
                .bind(Value::Text(column.to_owned())),
        };
        let rows = s.fetch_all(conn).await?;
        let n: i64 = rows.first().map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
        Ok(n > 0)
    }
}

/// Per-session limits, set on every new store connection so that no statement or lock wait
/// can hold a task (and a pooled connection) for longer.
#[derive(Debug, Clone, Copy)]
struct SessionLimits {
    statement: Duration,
    lock: Duration,
    /// PostgreSQL: a session left inside a transaction (a worker that vanished) is ended.
    idle_in_transaction: Duration,
}

impl SessionLimits {
    fn statements(self, dialect: Dialect, mariadb: bool) -> Vec<String> {
        let ms = |d: Duration| d.as_millis();
        let secs = |d: Duration| d.as_secs().max(1);
        match dialect {
            Dialect::Postgres => vec![
                format!("SET statement_timeout = {}", ms(self.statement)),
                format!("SET lock_timeout = {}", ms(self.lock)),
                format!(
                    "SET idle_in_transaction_session_timeout = {}",
                    ms(self.idle_in_transaction)
                ),
            ],
            Dialect::Mysql => vec![
                if mariadb {
                    format!("SET SESSION max_statement_time = {}", secs(self.statement))
                } else {
                    // MySQL bounds SELECTs only; writes are bounded by the lock waits and the
                    // worker's backstop.
                    format!("SET SESSION max_execution_time = {}", ms(self.statement))
                },
                format!("SET SESSION innodb_lock_wait_timeout = {}", secs(self.lock)),
                format!("SET SESSION lock_wait_timeout = {}", secs(self.lock)),
            ],
            // SQLite has no statement limit: the worker's backstop bounds it.
            Dialect::Sqlite => vec![format!("PRAGMA busy_timeout = {}", ms(self.lock))],
        }
    }

    async fn apply(self, conn: &mut AnyConnection, dialect: Dialect) -> sqlx::Result<()> {
        let mariadb = dialect == Dialect::Mysql && {
            let version: String = sqlx::query_scalar("SELECT VERSION()")
                .fetch_one(&mut *conn)
                .await?;
            version.to_ascii_lowercase().contains("mariadb")
        };
        for statement in self.statements(dialect, mariadb) {
            // Our own text of numbers only.
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

fn toml_value(v: &toml::Value) -> Value {
    match v {
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::String(s) => Value::Text(s.clone()),
        _ => Value::Null,
    }
}

fn add_years(d: NaiveDate, years: u32) -> NaiveDate {
    let y = d.year() + years as i32;
    NaiveDate::from_ymd_opt(y, d.month(), d.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, d.month(), 28))
        .expect("valid date")
}

const HASH_PREFIX: &str = "anon:";

fn keyed_hash(key: &[u8], value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(value.as_bytes());
    format!("{HASH_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

fn is_hash(v: &str) -> bool {
    v.starts_with(HASH_PREFIX) && v.len() == HASH_PREFIX.len() + 64
}

/// Removes anything that looks like credentials from a driver message.
fn scrub(message: &str) -> String {
    let re = regex::Regex::new(r"[a-z0-9+]+://[^\s@/]*@").expect("valid regex");
    re.replace_all(message, "<url>@").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_stable_and_recognised() {
        let a = keyed_hash(b"k1", "aigerim@mail.kz");
        assert_eq!(a, keyed_hash(b"k1", "aigerim@mail.kz"));
        assert_ne!(a, keyed_hash(b"k2", "aigerim@mail.kz"));
        assert!(is_hash(&a));
        assert!(!a.contains("aigerim"));
    }

    #[test]
    fn retention_years_handle_leap_days() {
        assert_eq!(
            add_years("2024-02-29".parse().unwrap(), 5),
            "2029-02-28".parse::<NaiveDate>().unwrap()
        );
    }

    #[test]
    fn session_limits_per_dialect() {
        let limits = SessionLimits {
            statement: Duration::from_secs(30),
            lock: Duration::from_secs(2),
            idle_in_transaction: Duration::from_secs(120),
        };
        assert_eq!(
            limits.statements(Dialect::Postgres, false),
            vec![
                "SET statement_timeout = 30000",
                "SET lock_timeout = 2000",
                "SET idle_in_transaction_session_timeout = 120000"
            ]
        );
        assert_eq!(
            limits.statements(Dialect::Mysql, true)[0],
            "SET SESSION max_statement_time = 30"
        );
        assert_eq!(
            limits.statements(Dialect::Mysql, false)[0],
            "SET SESSION max_execution_time = 30000"
        );
        assert_eq!(
            limits.statements(Dialect::Sqlite, false),
            vec!["PRAGMA busy_timeout = 2000"]
        );
    }

    #[test]
    fn credentials_are_scrubbed_from_driver_errors() {
        let s = scrub("error connecting to mysql://root:hunter2@db:3306/crm");
        assert!(!s.contains("hunter2"), "{s}");
    }
}
