//! The store match of a request as staff read it (`requests.subject_match`): per store and
//! table, how many rows the request would act on and which identifier matched them, with the
//! conflicts and open obligations found. Counts and names only; never a value.
//!
//! Three shapes are read: the current one (with a fingerprint, see
//! [`crate::request::approval`]), the older `{store: {table: count}}`, and NULL (the stores
//! have not been searched yet).

use serde::Serialize;
use serde_json::Value;

use crate::request::approval;

/// One table of one store.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TableMatch {
    pub table: String,
    /// Rows the request would act on.
    pub bound: i64,
    /// Rows each identifier matched (`None` in the older shape).
    pub email: Option<i64>,
    pub iin: Option<i64>,
    pub phone: Option<i64>,
    /// Rows the text's identifiers matched that the verified address does not: never acted on.
    pub outside: Option<i64>,
    /// A child table reached through this parent table.
    pub via: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StoreMatchView {
    pub store: String,
    pub tables: Vec<TableMatch>,
}

/// What was recorded, ready to show.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MatchView {
    /// `none` (not looked up yet), `counts` (older shape) or `detailed`.
    pub shape: &'static str,
    pub fingerprint: Option<String>,
    pub at: Option<String>,
    /// What the subject was anchored on: `verified`, `sender`, `staff_link` or `none`.
    pub anchor: Option<String>,
    pub stores: Vec<StoreMatchView>,
    pub conflicts: Vec<String>,
    pub obligations: Vec<String>,
    /// Stores or tables that could not be searched.
    pub unreached: Vec<String>,
}

fn count(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

impl MatchView {
    pub fn parse(subject_match: Option<&Value>) -> Self {
        let Some(m) = subject_match.filter(|m| !m.is_null()) else {
            return Self {
                shape: "none",
                ..Self::default()
            };
        };
        let fingerprint = approval::fingerprint_of(m);
        if approval::is_current_shape(m) {
            let stores = m["stores"]
                .as_object()
                .map(|stores| {
                    stores
                        .iter()
                        .map(|(store, tables)| StoreMatchView {
                            store: store.clone(),
                            tables: tables
                                .as_object()
                                .map(|tables| {
                                    tables
                                        .iter()
                                        .map(|(table, t)| TableMatch {
                                            table: table.clone(),
                                            bound: count(t, "bound").unwrap_or(0),
                                            email: count(t, "email"),
                                            iin: count(t, "iin"),
                                            phone: count(t, "phone"),
                                            outside: count(t, "outside"),
                                            via: t
                                                .get("via")
                                                .and_then(Value::as_str)
                                                .map(str::to_owned),
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let strings = |key: &str| -> Vec<String> {
                m.get(key)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|x| {
                                x.as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| x.to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            return Self {
                shape: "detailed",
                fingerprint,
                at: m.get("at").and_then(Value::as_str).map(str::to_owned),
                anchor: m.get("anchor").and_then(Value::as_str).map(str::to_owned),
                stores,
                conflicts: approval::conflicts_of(m),
                obligations: approval::obligations_of(m),
                unreached: strings("unreached"),
            };
        }
        let stores = m
            .as_object()
            .map(|stores| {
                stores
                    .iter()
                    .map(|(store, tables)| StoreMatchView {
                        store: store.clone(),
                        tables: tables
                            .as_object()
                            .map(|tables| {
                                tables
                                    .iter()
                                    .map(|(table, n)| TableMatch {
                                        table: table.clone(),
                                        bound: n.as_i64().unwrap_or(0),
                                        ..TableMatch::default()
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            shape: "counts",
            fingerprint,
            stores,
            ..Self::default()
        }
    }

    /// Whether the stores were searched at all.
    pub fn looked_up(&self) -> bool {
        self.fingerprint.is_some()
    }

    /// Rows the request would act on, in every store.
    pub fn bound(&self) -> i64 {
        self.stores
            .iter()
            .flat_map(|s| &s.tables)
            .map(|t| t.bound)
            .sum()
    }

    /// `table: rows` of one store, for the store-task rows of the request page.
    pub fn summary_of(&self, store: &str) -> Vec<String> {
        self.stores
            .iter()
            .filter(|s| s.store == store)
            .flat_map(|s| &s.tables)
            .map(|t| format!("{}: {}", t.table, t.bound))
            .collect()
    }

    /// Which identifiers matched a table, in words (`e-mail 1, IIN 1`), for the CLI.
    pub fn identifiers_of(t: &TableMatch) -> String {
        let mut parts = vec![];
        for (name, n) in [("e-mail", t.email), ("IIN", t.iin), ("phone", t.phone)] {
            if let Some(n) = n.filter(|n| *n > 0) {
                parts.push(format!("{name} {n}"));
            }
        }
        if let Some(via) = &t.via {
            parts.push(format!("via {via}"));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_three_shapes_are_read() {
        let none = MatchView::parse(None);
        assert_eq!(none.shape, "none");
        assert!(!none.looked_up());
        assert!(!MatchView::parse(Some(&Value::Null)).looked_up());

        let legacy = MatchView::parse(Some(&json!({"crm": {"customers": 1, "invoices": 2}})));
        assert_eq!(legacy.shape, "counts");
        assert!(legacy.looked_up());
        assert_eq!(legacy.bound(), 3);
        assert_eq!(
            legacy.summary_of("crm"),
            vec!["customers: 1", "invoices: 2"]
        );

        let m = json!({
            "fingerprint": "ab", "at": "2026-11-24T10:00:00+05:00", "anchor": "verified",
            "stores": {"crm": {
                "customers": {"bound": 1, "email": 1, "iin": 1, "phone": 0, "outside": 1},
                "invoices": {"bound": 2, "via": "customers"}}},
            "conflicts": ["two customers"], "obligations": ["unpaid invoice"],
            "unreached": ["shop.orders (timeout)"],
        });
        let v = MatchView::parse(Some(&m));
        assert_eq!(v.shape, "detailed");
        assert_eq!(v.fingerprint.as_deref(), Some("ab"));
        assert_eq!(v.anchor.as_deref(), Some("verified"));
        assert_eq!(v.bound(), 3);
        let customers = &v.stores[0].tables[0];
        assert_eq!((customers.outside, customers.phone), (Some(1), Some(0)));
        assert_eq!(MatchView::identifiers_of(customers), "e-mail 1, IIN 1");
        assert_eq!(
            MatchView::identifiers_of(&v.stores[0].tables[1]),
            "via customers"
        );
        assert_eq!(v.conflicts, vec!["two customers"]);
        assert_eq!(v.obligations, vec!["unpaid invoice"]);
        assert_eq!(v.unreached, vec!["shop.orders (timeout)"]);
    }
}
