//! What a staff approval covers: the one rule the console (when staff approve) and the processor
//! (before it executes an approved request) both apply.
//!
//! The processor records, per request, what the stores hold of its subject in
//! `requests.subject_match` (counts and names only):
//!
//! ```json
//! {"fingerprint": "<hex>", "at": "<rfc3339>", "anchor": "verified",
//!  "stores": {"crm": {"customers": {"bound": 1, "email": 1, "iin": 1, "phone": 0, "outside": 0}}},
//!  "conflicts": ["..."], "obligations": ["unpaid invoice"], "unreached": ["..."]}
//! ```
//!
//! Older rows hold `{store: {table: count}}` (no fingerprint of their own: [`fingerprint_of`]
//! hashes the whole value) or NULL (not looked up yet). A staff approval
//! (`requests.approval`) carries the fingerprint of the match the staff member saw and whether
//! they explicitly overrode conflicts and art. 8(2) obligations. [`approval_covers`] says
//! whether that approval still covers the facts recorded now.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The fingerprint of a set of bound rows: lowercase hex SHA-256 over the sorted, de-duplicated
/// `(store, table, key)` triples, each field length-prefixed (u32 big-endian) so no two sets
/// share an encoding. The empty set has a fingerprint too (no rows bound).
pub fn fingerprint<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> String {
    let mut rows: Vec<(&str, &str, &str)> = rows.into_iter().collect();
    rows.sort_unstable();
    rows.dedup();
    let mut hasher = Sha256::new();
    for (store, table, key) in rows {
        for field in [store, table, key] {
            hasher.update((field.len() as u32).to_be_bytes());
            hasher.update(field.as_bytes());
        }
    }
    hex::encode(hasher.finalize())
}

/// Whether `subject_match` has the current shape (its own fingerprint and per-table detail).
pub fn is_current_shape(subject_match: &Value) -> bool {
    subject_match
        .get("fingerprint")
        .is_some_and(Value::is_string)
        && subject_match.get("stores").is_some_and(Value::is_object)
}

/// The fingerprint of a recorded match: its own for the current shape; for the older
/// `{store: {table: count}}` shape, the SHA-256 of its (key-sorted) JSON; `None` when nothing
/// was looked up.
pub fn fingerprint_of(subject_match: &Value) -> Option<String> {
    match subject_match {
        Value::Null => None,
        m if is_current_shape(m) => m["fingerprint"].as_str().map(str::to_owned),
        // serde_json keeps object keys sorted, so equal values hash alike.
        m => Some(hex::encode(Sha256::digest(m.to_string().as_bytes()))),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Conflicts recorded with the match (none in the older shape).
pub fn conflicts_of(subject_match: &Value) -> Vec<String> {
    strings(
        subject_match
            .get("conflicts")
            .filter(|_| is_current_shape(subject_match)),
    )
}

/// Open art. 8(2) obligations recorded with the match (none in the older shape).
pub fn obligations_of(subject_match: &Value) -> Vec<String> {
    strings(
        subject_match
            .get("obligations")
            .filter(|_| is_current_shape(subject_match)),
    )
}

/// Kinds that an open obligation holds back (law 94-V art. 8(2)): the end of processing.
pub fn obligations_bind(kind: &str) -> bool {
    matches!(kind, "withdraw_consent" | "erasure")
}

/// `Ok(())` when `approval` (a `requests.approval` value) covers `subject_match` as recorded now;
/// otherwise why not, in words for staff:
///
/// - nothing was looked up yet, or there is no approval;
/// - the match's fingerprint is not the one the staff member approved (the facts changed);
/// - the match has conflicts and the approval does not say `override_conflicts`;
/// - the match has open obligations, the approved kind is one they hold back
///   ([`obligations_bind`]) and the approval does not say `override_obligations`.
pub fn approval_covers(approval: &Value, subject_match: &Value) -> Result<(), String> {
    let Some(current) = fingerprint_of(subject_match) else {
        return Err("the stores have not been searched yet".into());
    };
    let Some(approved) = approval.get("fingerprint").and_then(Value::as_str) else {
        return Err("no staff approval is recorded".into());
    };
    if approved != current {
        return Err("the store match changed since it was approved; look again".into());
    }
    let flag = |name: &str| approval.get(name).and_then(Value::as_bool).unwrap_or(false);
    let conflicts = conflicts_of(subject_match);
    if !conflicts.is_empty() && !flag("override_conflicts") {
        return Err(format!(
            "the store match has conflicts ({}) and the approval does not override them",
            conflicts.join("; ")
        ));
    }
    let obligations = obligations_of(subject_match);
    let kind = approval.get("kind").and_then(Value::as_str).unwrap_or("");
    if !obligations.is_empty() && obligations_bind(kind) && !flag("override_obligations") {
        return Err(format!(
            "the subject has open obligations (art. 8(2): {}) and the approval does not override them",
            obligations.join("; ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn current(conflicts: &[&str], obligations: &[&str]) -> Value {
        json!({
            "fingerprint": fingerprint([("crm", "customers", "7")]),
            "at": "2026-11-24T10:00:00+05:00",
            "anchor": "verified",
            "stores": {"crm": {"customers": {"bound": 1, "email": 1, "iin": 0, "phone": 0, "outside": 0}}},
            "conflicts": conflicts,
            "obligations": obligations,
            "unreached": [],
        })
    }

    fn approval(m: &Value, kind: &str, conflicts: bool, obligations: bool) -> Value {
        json!({
            "by": "dpo@nlg.kz", "staff_id": 1, "kind": kind,
            "fingerprint": fingerprint_of(m).unwrap(),
            "override_conflicts": conflicts, "override_obligations": obligations,
            "audit_id": 1, "at": "2026-11-24T10:05:00+05:00",
        })
    }

    #[test]
    fn fingerprints_ignore_order_and_duplicates_but_not_content() {
        let a = fingerprint([("crm", "customers", "1"), ("crm", "invoices", "2")]);
        let b = fingerprint([
            ("crm", "invoices", "2"),
            ("crm", "customers", "1"),
            ("crm", "invoices", "2"),
        ]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(a, fingerprint([("crm", "customers", "1")]));
        assert_ne!(a, fingerprint([]));
        // Field boundaries matter: "ab"+"c" is not "a"+"bc".
        assert_ne!(
            fingerprint([("ab", "c", "k")]),
            fingerprint([("a", "bc", "k")])
        );
    }

    #[test]
    fn every_shape_has_a_fingerprint_except_none() {
        assert_eq!(fingerprint_of(&Value::Null), None);
        let legacy = json!({"crm": {"customers": 1}});
        let f = fingerprint_of(&legacy).unwrap();
        assert_eq!(f.len(), 64);
        assert_ne!(Some(f), fingerprint_of(&json!({"crm": {"customers": 2}})));
        let m = current(&[], &[]);
        assert_eq!(
            fingerprint_of(&m).unwrap(),
            fingerprint([("crm", "customers", "7")])
        );
        assert!(conflicts_of(&legacy).is_empty() && obligations_of(&legacy).is_empty());
    }

    #[test]
    fn an_approval_covers_the_facts_it_was_given() {
        let m = current(&[], &[]);
        assert_eq!(
            approval_covers(&approval(&m, "erasure", false, false), &m),
            Ok(())
        );
        let legacy = json!({"crm": {"customers": 1}});
        assert_eq!(
            approval_covers(&approval(&legacy, "erasure", false, false), &legacy),
            Ok(())
        );
    }

    #[test]
    fn a_changed_or_missing_match_is_not_covered() {
        let m = current(&[], &[]);
        let a = approval(&m, "erasure", true, true);
        let mut changed = m.clone();
        changed["fingerprint"] = json!(fingerprint([("crm", "customers", "8")]));
        assert!(approval_covers(&a, &changed)
            .unwrap_err()
            .contains("changed"));
        assert!(approval_covers(&a, &Value::Null)
            .unwrap_err()
            .contains("not been searched"));
        assert!(approval_covers(&Value::Null, &m)
            .unwrap_err()
            .contains("no staff approval"));
        // Approved on the older shape, looked up again in the new one: look again.
        let legacy = json!({"crm": {"customers": 1}});
        assert!(approval_covers(&approval(&legacy, "erasure", true, true), &m).is_err());
    }

    #[test]
    fn conflicts_and_obligations_need_an_explicit_override() {
        let m = current(&["the IIN and the address match different customers"], &[]);
        let refused = approval_covers(&approval(&m, "erasure", false, false), &m).unwrap_err();
        assert!(refused.contains("conflicts"), "{refused}");
        assert_eq!(
            approval_covers(&approval(&m, "erasure", true, false), &m),
            Ok(())
        );

        let m = current(&[], &["unpaid invoice"]);
        let refused = approval_covers(&approval(&m, "erasure", false, false), &m).unwrap_err();
        assert!(refused.contains("unpaid invoice"), "{refused}");
        assert!(approval_covers(&approval(&m, "withdraw_consent", false, false), &m).is_err());
        assert_eq!(
            approval_covers(&approval(&m, "erasure", false, true), &m),
            Ok(())
        );
        // An obligation does not hold back an access report or a blocking.
        assert_eq!(
            approval_covers(&approval(&m, "access", false, false), &m),
            Ok(())
        );
        assert_eq!(
            approval_covers(&approval(&m, "restriction", false, false), &m),
            Ok(())
        );
    }
}
