//! Who a request is about: the binding rule applied across every registered SQL store.
//!
//! The subject is the set of records the verified address matches ([`SubjectIds`] explains
//! the rule; [`crate::stores::database`] applies it per table). This module gathers one
//! [`Lookup`] over all stores, with the art. 8(2) obligations of the bound records, and reduces
//! it to what may be stored and shown to staff: counts per store, table and identifier, the
//! conflicts, the obligations, and a fingerprint of exactly which rows would be acted on (so an
//! approval can be checked against the facts it was given).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::domain::RequestKind;
use crate::stores::{Registry, StoreMatch, SubjectIds};

/// The subject's records in every SQL store, under the binding rule.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    pub stores: BTreeMap<String, StoreMatch>,
    /// Open obligations (law 94-V art. 8(2)) of the bound records, by name.
    pub obligations: Vec<String>,
}

/// How the lookup was anchored, for staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The verified address.
    Verified,
    /// The sender's claimed address, before any verification (nothing is done on it).
    Sender,
    /// Identifiers staff linked to the request.
    StaffLink,
}

impl Anchor {
    pub fn as_str(self) -> &'static str {
        match self {
            Anchor::Verified => "verified",
            Anchor::Sender => "sender",
            Anchor::StaffLink => "staff_link",
        }
    }
}

impl Lookup {
    /// Looks `probe` up in every SQL store; a store that cannot answer fails the whole lookup
    /// (the caller retries later: acting on a partial picture would leave data behind).
    pub async fn run(
        registry: &Registry,
        probe: &SubjectIds,
        kind: RequestKind,
    ) -> anyhow::Result<Self> {
        let mut lookup = Lookup::default();
        for store in registry.sql_stores() {
            lookup
                .stores
                .insert(store.name().to_owned(), store.find(probe).await?);
        }
        if matches!(kind, RequestKind::WithdrawConsent | RequestKind::Erasure) {
            for store in registry.sql_stores() {
                if let Some(m) = lookup.stores.get(store.name()).filter(|m| !m.is_empty()) {
                    lookup.obligations.extend(store.open_obligations(m).await?);
                }
            }
        }
        Ok(lookup)
    }

    /// Some record is bound to the request.
    pub fn found(&self) -> bool {
        self.stores.values().any(|m| !m.is_empty())
    }

    pub fn conflicts(&self) -> Vec<String> {
        self.stores
            .values()
            .flat_map(|m| m.conflicts.iter().cloned())
            .collect()
    }

    /// Addresses on file of records that only the typed identifiers match (personal data).
    pub fn on_file(&self) -> BTreeSet<String> {
        self.stores
            .values()
            .flat_map(|m| m.on_file.iter().cloned())
            .collect()
    }

    /// Records that only the typed identifiers match and that hold no address.
    pub fn without_address(&self) -> usize {
        self.stores
            .values()
            .map(|m| m.outside_without_address)
            .sum()
    }

    /// Records that only the typed identifiers match, with or without an address.
    pub fn outside(&self) -> usize {
        self.stores.values().map(StoreMatch::outside).sum()
    }

    /// The fingerprint of the bound rows ([`crate::request::approval::fingerprint`]): two lookups with
    /// the same fingerprint would act on exactly the same rows.
    pub fn fingerprint(&self) -> String {
        crate::request::approval::fingerprint(self.stores.iter().flat_map(|(s, m)| {
            m.tables.iter().flat_map(move |(t, keys)| {
                keys.iter()
                    .map(move |k| (s.as_str(), t.as_str(), k.as_str()))
            })
        }))
    }

    /// What `requests.subject_match` holds: counts and names only, never values.
    pub fn summary(&self, anchor: Anchor) -> Value {
        let stores: BTreeMap<&String, &BTreeMap<String, crate::stores::TableMatch>> =
            self.stores.iter().map(|(s, m)| (s, &m.detail)).collect();
        json!({
            "fingerprint": self.fingerprint(),
            "at": chrono::Utc::now().to_rfc3339(),
            "anchor": anchor.as_str(),
            "stores": stores,
            "conflicts": self.conflicts(),
            "obligations": self.obligations,
        })
    }
}

/// The identifiers a message offers for finding its subject: the IINs and phones it gives as
/// the sender's own (as understood), and other e-mail addresses written in the sender's own
/// words — never the sender's, never the company's. None of them is proof of anything.
pub fn offered(reading: &crate::understand::Reading, company_domain: &str) -> Value {
    static ADDRESS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,253}\.[A-Za-z]{2,24}")
            .expect("valid regex")
    });
    let sender = reading
        .envelope
        .from
        .as_ref()
        .map(|a| a.as_str().to_lowercase());
    let company = company_domain.to_lowercase();
    let mut emails: Vec<String> = vec![];
    for m in ADDRESS.find_iter(&reading.text) {
        let Ok(address) = crate::domain::EmailAddress::parse(m.as_str()) else {
            continue;
        };
        let address = address.as_str().to_lowercase();
        let ours = address
            .rsplit_once('@')
            .is_some_and(|(_, d)| d == company || d.ends_with(&format!(".{company}")));
        if Some(&address) != sender.as_ref() && !ours && !emails.contains(&address) {
            emails.push(address);
        }
        if emails.len() == 3 {
            break;
        }
    }
    let u = &reading.understanding;
    json!({ "iins": u.iin, "phones": u.phones, "emails": emails })
}

/// `existing` identifiers with `more` added (each value once); returns how many were new.
pub fn merge_offered(existing: &mut Value, more: &Value) -> usize {
    if !existing.is_object() {
        *existing = json!({});
    }
    let mut added = 0;
    for field in ["iins", "phones", "emails"] {
        let Some(new) = more.get(field).and_then(Value::as_array) else {
            continue;
        };
        let list = existing
            .as_object_mut()
            .expect("an object")
            .entry(field)
            .or_insert_with(|| json!([]));
        if let Value::Array(list) = list {
            for v in new {
                if !list.contains(v) {
                    list.push(v.clone());
                    added += 1;
                }
            }
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(rows: &[(&str, &str, &str)]) -> Lookup {
        let mut l = Lookup::default();
        for (s, t, k) in rows {
            l.stores
                .entry(s.to_string())
                .or_default()
                .tables
                .entry(t.to_string())
                .or_default()
                .push(k.to_string());
        }
        l
    }

    #[test]
    fn offered_identifiers_merge_once() {
        let mut ids = json!({ "iins": ["1"], "phones": [] });
        let added = merge_offered(
            &mut ids,
            &json!({ "iins": ["1", "2"], "phones": ["+7"], "emails": ["a@b.kz"] }),
        );
        assert_eq!(added, 3);
        assert_eq!(
            ids,
            json!({ "iins": ["1", "2"], "phones": ["+7"], "emails": ["a@b.kz"] })
        );
        assert_eq!(merge_offered(&mut ids, &json!({ "iins": ["2"] })), 0);
    }

    #[test]
    fn fingerprint_is_order_independent_and_row_exact() {
        let a = lookup(&[("crm", "customers", "1"), ("shop", "accounts", "7")]);
        let b = lookup(&[("shop", "accounts", "7"), ("crm", "customers", "1")]);
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = lookup(&[("crm", "customers", "2"), ("shop", "accounts", "7")]);
        assert_ne!(a.fingerprint(), c.fingerprint());
        // "1" + "23" is not "12" + "3".
        let d = lookup(&[("crm", "customers", "1"), ("crm", "customers", "23")]);
        let e = lookup(&[("crm", "customers", "12"), ("crm", "customers", "3")]);
        assert_ne!(d.fingerprint(), e.fingerprint());
    }
}
