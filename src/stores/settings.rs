//! The store registry as configured: `[[stores]]` with their tables, identifiers, data
//! categories, retention bases and what each request kind does to each table.
//!
//! Every table and column name is checked here, at start, against a strict pattern; the SQL
//! builders quote them again for their dialect, and values are always bound parameters.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::error::ConfigError;
use crate::config::secret::Secret;
use crate::domain::RequestKind;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Postgres,
    Mysql,
    Sqlite,
    /// A third-party processor (seed clause 11) called with a signed request.
    Webhook,
    /// A system only staff can change: the worker creates a task and waits.
    Manual,
}

impl StoreKind {
    pub fn is_sql(self) -> bool {
        matches!(
            self,
            StoreKind::Postgres | StoreKind::Mysql | StoreKind::Sqlite
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::Postgres => "postgres",
            StoreKind::Mysql => "mysql",
            StoreKind::Sqlite => "sqlite",
            StoreKind::Webhook => "webhook",
            StoreKind::Manual => "manual",
        }
    }
}

/// How a subject is recognised in a table.
#[derive(
    Debug, Clone, Copy, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Identifier {
    Email,
    Iin,
    Phone,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    pub name: String,
    pub kind: StoreKind,
    /// Name of the environment variable holding the connection URL (or the webhook URL).
    #[serde(default)]
    pub url_env: Option<String>,
    /// The URL itself (development only; prefer `url_env`). Secret: never logged.
    #[serde(default)]
    pub url: Option<Secret>,
    /// Seconds to wait for a connection (or a webhook answer) before the attempt fails and
    /// the task is retried later.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// SQL stores: longest one statement may run, set on each session (PostgreSQL
    /// `statement_timeout`, MariaDB `max_statement_time`, MySQL `max_execution_time`).
    #[serde(default = "default_statement_timeout_secs")]
    pub statement_timeout_secs: u64,
    /// SQL stores: longest wait for a lock held by someone else (PostgreSQL `lock_timeout`,
    /// MySQL/MariaDB `innodb_lock_wait_timeout` and `lock_wait_timeout`, SQLite busy timeout).
    #[serde(default = "default_lock_timeout_secs")]
    pub lock_timeout_secs: u64,
    /// SQL stores: longest one whole operation (finding a subject, carrying out a request, ...)
    /// may take before the worker gives up on it and rolls it back, whatever the server does.
    #[serde(default = "default_operation_timeout_secs")]
    pub operation_timeout_secs: u64,
    /// Where the data physically is (seed clause 14: Kazakhstan), for the access report.
    #[serde(default)]
    pub location: Option<String>,
    /// For webhook stores: the processor's name as the subject should read it.
    #[serde(default)]
    pub processor: Option<String>,
    /// For webhook stores: environment variable holding the HMAC-SHA256 signing key.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// For manual stores: what staff must do.
    #[serde(default)]
    pub instructions: Option<String>,
    /// Request kinds a webhook or manual store takes part in (default: all but access).
    #[serde(default)]
    pub kinds: Vec<RequestKind>,
    #[serde(default)]
    pub tables: Vec<TableSettings>,
    /// Law 94-V art. 8(2): open obligations that stop an automatic withdrawal or erasure.
    #[serde(default)]
    pub obligations: Vec<ObligationSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSettings {
    pub name: String,
    /// Primary key column.
    pub key: String,
    /// Columns that identify the subject directly.
    #[serde(default)]
    pub identifiers: BTreeMap<Identifier, String>,
    /// Or: rows belong to the subject through a parent table of the same store.
    #[serde(default)]
    pub parent: Option<ParentLink>,
    /// Column → data category (seed clause 4), e.g. `full_name = "identity"`.
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
    #[serde(default)]
    pub retention: Option<Retention>,
    /// How rows are blocked: a flag column set to true, or a blocklist table.
    #[serde(default)]
    pub block: Option<BlockMethod>,
    /// What each request kind does to this table (absent kinds: nothing).
    #[serde(default)]
    pub actions: BTreeMap<RequestKind, Action>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentLink {
    pub table: String,
    /// This table's column holding the parent's key.
    pub column: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Why the rows must be kept, as the subject will read it (e.g. "accounting records, 5 years").
    pub basis: String,
    /// Date column the period runs from.
    pub column: String,
    pub years: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, untagged)]
pub enum BlockMethod {
    /// `block = { column = "blocked" }`: set to true.
    Flag { column: String },
    /// `block = { table = "blocked_customers", column = "customer_id" }`: insert the key.
    List { table: String, column: String },
}

/// What a request kind does to a table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing (the table is only read, e.g. for access).
    Keep,
    Block,
    Delete,
    /// Legal hold: block now, destroy when the retention period ends.
    Retain,
    /// Overwrite columns: `{ anonymise = { email = "hash", full_name = "text:удалено", phone = "null" } }`.
    Anonymise(BTreeMap<String, String>),
    /// Set columns to fixed values (marketing flags): `{ set = { marketing_sms = false } }`.
    Set(BTreeMap<String, toml::Value>),
}

/// How one column is anonymised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anonymisation {
    Null,
    /// HMAC-SHA256 of the value with the configured key, hex.
    Hash,
    Text(String),
}

impl Anonymisation {
    pub fn parse(spec: &str) -> Option<Self> {
        match spec {
            "null" => Some(Self::Null),
            "hash" => Some(Self::Hash),
            other => other
                .strip_prefix("text:")
                .map(|t| Self::Text(t.to_owned())),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObligationSettings {
    /// Shown to staff and explained to the subject, e.g. "unpaid invoice".
    pub name: String,
    /// A table of this store whose rows belong to the subject (through identifiers or parent).
    pub table: String,
    /// SQL condition on that table that means "open", e.g. `paid = false` (trusted config).
    pub open_when: String,
}

/// `[identity]`: when the worker may act without a confirmation round trip.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySettings {
    /// authserv-ids of our own receiving servers whose `Authentication-Results` are trusted.
    pub trusted_authserv_ids: Vec<String>,
    /// Host names our receiving MX writes after `by` in its `Received:` header. Only the
    /// trusted `Authentication-Results` directly above that header count; required when
    /// `trusted_authserv_ids` is not empty.
    pub receiving_hosts: Vec<String>,
    /// Hours a confirmation code stays valid.
    pub confirmation_hours: u32,
    /// Environment variable with the key for keyed-hash anonymisation and webhook fallbacks.
    pub hash_key_env: String,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            trusted_authserv_ids: vec![],
            receiving_hosts: vec![],
            confirmation_hours: 72,
            hash_key_env: "DSR_HASH_KEY".into(),
        }
    }
}

impl IdentitySettings {
    /// Errors name the key (`identity.receiving_hosts`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let host_name = |h: &String| {
            !h.is_empty()
                && h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        };
        if let Some(bad) = self.trusted_authserv_ids.iter().find(|h| !host_name(h)) {
            return Err(err(
                "identity.trusted_authserv_ids".into(),
                format!("`{bad}` is not an authserv-id (a host name)"),
            ));
        }
        if let Some(bad) = self.receiving_hosts.iter().find(|h| !host_name(h)) {
            return Err(err(
                "identity.receiving_hosts".into(),
                format!("`{bad}` is not a host name"),
            ));
        }
        if !self.trusted_authserv_ids.is_empty() && self.receiving_hosts.is_empty() {
            return Err(err(
                "identity.receiving_hosts".into(),
                "name the host(s) our MX writes in its Received header (`by mx.nlg.kz`): \
                 identity.trusted_authserv_ids is trusted only above that header",
            ));
        }
        if self.confirmation_hours == 0 {
            return Err(err(
                "identity.confirmation_hours".into(),
                "must be positive",
            ));
        }
        Ok(())
    }
}

fn default_timeout_secs() -> u64 {
    10
}
fn default_statement_timeout_secs() -> u64 {
    30
}
fn default_lock_timeout_secs() -> u64 {
    10
}
fn default_operation_timeout_secs() -> u64 {
    120
}

fn err(key: String, message: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key,
        message: message.into(),
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, at most 63 bytes: safe to quote in every dialect.
pub fn valid_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

impl StoreSettings {
    /// The connection or endpoint URL, from `url_env` or `url`.
    pub fn resolve_url(&self) -> Result<Secret, String> {
        if let Some(var) = &self.url_env {
            return std::env::var(var).map(Secret::new).map_err(|_| {
                format!(
                    "environment variable {var} (stores.{}.url_env) is not set",
                    self.name
                )
            });
        }
        self.url
            .clone()
            .ok_or_else(|| format!("store {} has neither url_env nor url", self.name))
    }

    pub fn table(&self, name: &str) -> Option<&TableSettings> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Whether a webhook/manual store takes part in `kind`.
    pub fn takes_part_in(&self, kind: RequestKind) -> bool {
        if self.kinds.is_empty() {
            kind != RequestKind::Access
        } else {
            self.kinds.contains(&kind)
        }
    }
}

/// Validates the whole registry; errors name the key (`stores.crm.tables.customers.key`).
pub fn validate(stores: &[StoreSettings]) -> Result<(), ConfigError> {
    let mut names = std::collections::BTreeSet::new();
    for store in stores {
        let at = format!("stores.{}", store.name);
        if !valid_identifier(&store.name) {
            return Err(err(
                format!("stores.{}.name", store.name),
                "must be letters, digits and _",
            ));
        }
        if !names.insert(&store.name) {
            return Err(err(at, "two stores with the same name"));
        }
        if store.url_env.is_none() && store.url.is_none() && store.kind != StoreKind::Manual {
            return Err(err(
                format!("{at}.url_env"),
                "give url_env (or url for development)",
            ));
        }
        for (key, value) in [
            ("timeout_secs", store.timeout_secs),
            ("statement_timeout_secs", store.statement_timeout_secs),
            ("lock_timeout_secs", store.lock_timeout_secs),
            ("operation_timeout_secs", store.operation_timeout_secs),
        ] {
            if value == 0 || value > 24 * 3600 {
                return Err(err(
                    format!("{at}.{key}"),
                    "must be between 1 and 86400 seconds",
                ));
            }
        }
        if store.operation_timeout_secs < store.statement_timeout_secs {
            return Err(err(
                format!("{at}.operation_timeout_secs"),
                "must not be below statement_timeout_secs (the server's own limit fires first)",
            ));
        }
        if !store.kind.is_sql() {
            if !store.tables.is_empty() || !store.obligations.is_empty() {
                return Err(err(
                    format!("{at}.tables"),
                    "only SQL stores have tables and obligations",
                ));
            }
            if store.kind == StoreKind::Webhook && store.secret_env.is_none() {
                return Err(err(
                    format!("{at}.secret_env"),
                    "a webhook store needs a signing key",
                ));
            }
            continue;
        }
        if store.tables.is_empty() {
            return Err(err(
                format!("{at}.tables"),
                "a SQL store needs at least one table",
            ));
        }
        for table in &store.tables {
            let at = format!("{at}.tables.{}", table.name);
            let mut columns: Vec<(&str, &str)> = vec![("name", &table.name), ("key", &table.key)];
            for column in table.identifiers.values() {
                columns.push(("identifiers", column));
            }
            for column in table.categories.keys() {
                columns.push(("categories", column));
            }
            if let Some(p) = &table.parent {
                columns.push(("parent.table", &p.table));
                columns.push(("parent.column", &p.column));
                if store.table(&p.table).is_none() {
                    return Err(err(
                        format!("{at}.parent.table"),
                        format!("no table {} in this store", p.table),
                    ));
                }
            }
            if let Some(r) = &table.retention {
                columns.push(("retention.column", &r.column));
            }
            match &table.block {
                Some(BlockMethod::Flag { column }) => columns.push(("block.column", column)),
                Some(BlockMethod::List { table: t, column }) => {
                    columns.push(("block.table", t));
                    columns.push(("block.column", column));
                }
                None => {}
            }
            for (kind, action) in &table.actions {
                match action {
                    Action::Anonymise(map) => {
                        for (column, spec) in map {
                            columns.push(("actions", column));
                            if Anonymisation::parse(spec).is_none() {
                                return Err(err(
                                    format!("{at}.actions.{kind}.anonymise.{column}"),
                                    "must be \"null\", \"hash\" or \"text:...\"",
                                ));
                            }
                        }
                    }
                    Action::Set(map) => {
                        for (column, value) in map {
                            columns.push(("actions", column));
                            if !(value.is_bool() || value.is_integer() || value.is_str()) {
                                return Err(err(
                                    format!("{at}.actions.{kind}.set.{column}"),
                                    "must be a boolean, an integer or a string",
                                ));
                            }
                        }
                    }
                    Action::Block if table.block.is_none() => {
                        return Err(err(
                            format!("{at}.block"),
                            format!("`{kind} = \"block\"` needs a block method"),
                        ));
                    }
                    Action::Retain if table.block.is_none() || table.retention.is_none() => {
                        return Err(err(
                            format!("{at}.retention"),
                            format!(
                                "`{kind} = \"retain\"` needs both retention and a block method"
                            ),
                        ));
                    }
                    _ => {}
                }
                if *kind == RequestKind::MarketingOptOut
                    && !matches!(action, Action::Set(_) | Action::Keep)
                {
                    return Err(err(
                        format!("{at}.actions.marketing_opt_out"),
                        "a marketing opt-out only sets flags (`{ set = { ... } }`); it deletes nothing",
                    ));
                }
            }
            for (what, column) in columns {
                if !valid_identifier(column) {
                    return Err(err(
                        format!("{at}.{what}"),
                        format!(
                            "`{column}` is not a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*)"
                        ),
                    ));
                }
            }
            if table.identifiers.is_empty() && table.parent.is_none() {
                return Err(err(
                    format!("{at}.identifiers"),
                    "give identifier columns or a parent link",
                ));
            }
        }
        for (i, obligation) in store.obligations.iter().enumerate() {
            if store.table(&obligation.table).is_none() {
                return Err(err(
                    format!("{at}.obligations[{i}].table"),
                    format!("no table {} in this store", obligation.table),
                ));
            }
            if obligation.open_when.contains(';') {
                return Err(err(
                    format!("{at}.obligations[{i}].open_when"),
                    "one condition, no `;`",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<StoreSettings>, ConfigError> {
        #[derive(Deserialize)]
        struct Doc {
            stores: Vec<StoreSettings>,
        }
        let doc: Doc = toml::from_str(text).map_err(|e| err("stores".into(), e.to_string()))?;
        validate(&doc.stores)?;
        Ok(doc.stores)
    }

    const GOOD: &str = r#"
        [[stores]]
        name = "crm"
        kind = "postgres"
        url_env = "CRM_URL"
        [[stores.tables]]
        name = "customers"
        key = "id"
        identifiers = { email = "email", iin = "iin" }
        categories = { full_name = "identity", email = "contacts" }
        block = { column = "blocked" }
        actions = { erasure = "delete", withdraw_consent = "block", marketing_opt_out = { set = { marketing = false } } }
        [[stores.tables]]
        name = "invoices"
        key = "id"
        parent = { table = "customers", column = "customer_id" }
        retention = { basis = "accounting", column = "issued_on", years = 5 }
        block = { column = "blocked" }
        actions = { erasure = "retain" }
        [[stores.obligations]]
        name = "unpaid invoice"
        table = "invoices"
        open_when = "paid = false"
    "#;

    #[test]
    fn a_realistic_registry_is_accepted() {
        let stores = parse(GOOD).unwrap();
        assert_eq!(
            stores[0].tables[0].actions[&RequestKind::Erasure],
            Action::Delete
        );
        assert!(matches!(
            stores[0].tables[0].actions[&RequestKind::MarketingOptOut],
            Action::Set(_)
        ));
    }

    #[test]
    fn hostile_names_are_refused_with_the_key() {
        let bad = GOOD.replace(
            "key = \"id\"\n        identifiers",
            "key = \"id; DROP TABLE x\"\n        identifiers",
        );
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.contains("stores.crm.tables.customers.key"), "{e}");
        let bad = GOOD.replace(
            "full_name = \"identity\"",
            "\"full name\\\"\" = \"identity\"",
        );
        assert!(parse(&bad).unwrap_err().to_string().contains("categories"));
    }

    #[test]
    fn marketing_opt_out_cannot_delete() {
        let bad = GOOD.replace(
            "marketing_opt_out = { set = { marketing = false } }",
            "marketing_opt_out = \"delete\"",
        );
        assert!(parse(&bad)
            .unwrap_err()
            .to_string()
            .contains("marketing_opt_out"));
    }

    #[test]
    fn retain_needs_retention_and_block() {
        let bad = GOOD.replace(
            "retention = { basis = \"accounting\", column = \"issued_on\", years = 5 }\n",
            "",
        );
        assert!(parse(&bad).unwrap_err().to_string().contains("retention"));
    }

    #[test]
    fn timeouts_have_defaults_and_bounds() {
        let stores = parse(GOOD).unwrap();
        assert_eq!(
            (
                stores[0].statement_timeout_secs,
                stores[0].lock_timeout_secs,
                stores[0].operation_timeout_secs
            ),
            (30, 10, 120)
        );
        let bad = GOOD.replace(
            "url_env = \"CRM_URL\"",
            "url_env = \"CRM_URL\"\n        lock_timeout_secs = 0",
        );
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.contains("stores.crm.lock_timeout_secs"), "{e}");
        let bad = GOOD.replace(
            "url_env = \"CRM_URL\"",
            "url_env = \"CRM_URL\"\n        statement_timeout_secs = 300",
        );
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.contains("stores.crm.operation_timeout_secs"), "{e}");
    }

    #[test]
    fn identifier_pattern() {
        assert!(valid_identifier("customer_id"));
        assert!(valid_identifier("_x1"));
        assert!(!valid_identifier("1x"));
        assert!(!valid_identifier("a-b"));
        assert!(!valid_identifier("a\"b"));
        assert!(!valid_identifier(""));
        assert!(!valid_identifier(&"a".repeat(64)));
    }
}
