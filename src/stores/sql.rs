//! SQL text for the three dialects. Names come only from the validated registry and are quoted
//! here; every value is a bound parameter.

use crate::stores::settings::{valid_identifier, StoreKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Mysql,
    Sqlite,
}

impl Dialect {
    pub fn of(kind: StoreKind) -> Option<Self> {
        match kind {
            StoreKind::Postgres => Some(Dialect::Postgres),
            StoreKind::Mysql => Some(Dialect::Mysql),
            StoreKind::Sqlite => Some(Dialect::Sqlite),
            _ => None,
        }
    }

    /// Quotes a validated identifier. Panics on an unvalidated one: that is a bug, not input.
    pub fn quote(self, name: &str) -> String {
        assert!(
            valid_identifier(name),
            "unvalidated SQL identifier reached the SQL builder"
        );
        match self {
            Dialect::Mysql => format!("`{name}`"),
            _ => format!("\"{name}\""),
        }
    }

    /// The value of `expr` as text, for comparisons and reading any column type.
    pub fn text(self, expr: &str) -> String {
        match self {
            Dialect::Mysql => format!("CAST({expr} AS CHAR)"),
            _ => format!("CAST({expr} AS TEXT)"),
        }
    }
}

/// A statement under construction: text plus the values bound in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub dialect: Dialect,
    pub text: String,
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Bool(bool),
    Int(i64),
    Null,
}

impl Statement {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            text: String::new(),
            values: vec![],
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: Value) -> &mut Self {
        self.values.push(value);
        match self.dialect {
            Dialect::Postgres => {
                let n = self.values.len();
                self.text.push_str(&format!("${n}"));
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// Appends `(?, ?, ...)` bound to `values` (never empty: callers skip empty lists).
    pub fn bind_list(&mut self, values: &[String]) -> &mut Self {
        self.push("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(Value::Text(v.clone()));
        }
        self.push(")")
    }

    /// Runs it on an `Any` connection; returns rows affected.
    pub async fn execute(&self, conn: &mut sqlx::AnyConnection) -> sqlx::Result<u64> {
        Ok(self.query().execute(conn).await?.rows_affected())
    }

    pub async fn fetch_all(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> sqlx::Result<Vec<sqlx::any::AnyRow>> {
        self.query().fetch_all(conn).await
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        // Safe: identifiers are validated and quoted, values are bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text.as_str()));
        for v in &self.values {
            q = match v {
                Value::Text(s) => q.bind(s.clone()),
                Value::Bool(b) => q.bind(*b),
                Value::Int(i) => q.bind(*i),
                Value::Null => q.bind(Option::<String>::None),
            };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_quotes_follow_the_dialect() {
        let mut pg = Statement::new(Dialect::Postgres);
        pg.push("SELECT 1 FROM ")
            .push(&Dialect::Postgres.quote("customers"))
            .push(" WHERE id IN ")
            .bind_list(&["1".into(), "2".into()]);
        assert_eq!(pg.text, "SELECT 1 FROM \"customers\" WHERE id IN ($1, $2)");
        let mut my = Statement::new(Dialect::Mysql);
        my.push(&Dialect::Mysql.quote("customers"))
            .push(" ")
            .bind(Value::Bool(true));
        assert_eq!(my.text, "`customers` ?");
        assert_eq!(Dialect::Mysql.text("`x`"), "CAST(`x` AS CHAR)");
    }

    #[test]
    #[should_panic(expected = "unvalidated")]
    fn an_unvalidated_name_never_becomes_sql() {
        Dialect::Postgres.quote("x\"; DROP TABLE y; --");
    }
}
