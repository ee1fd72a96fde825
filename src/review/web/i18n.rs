//! Console strings, one data file per language: `templates/console/i18n/{kk,ru,en}.toml`,
//! embedded in the binary. Every key exists in every language (a unit test checks it, and that
//! every key a console template uses is defined), so a page never shows a missing string.
//!
//! The language of a page comes from `?lang=`, then the `dsr_lang` cookie, then
//! `Accept-Language`, then Russian; it is a [`Language`] other than `Mixed`.

use std::borrow::Cow;
use std::collections::HashMap;

use std::sync::LazyLock;

use crate::domain::Language;

/// The console's languages, in the order of the language switch.
pub const LANGUAGES: [Language; 3] = [Language::Kk, Language::Ru, Language::En];

/// The strings files, by language.
pub const FILES: [(Language, &str); 3] = [
    (
        Language::Kk,
        include_str!("../../../templates/console/i18n/kk.toml"),
    ),
    (
        Language::Ru,
        include_str!("../../../templates/console/i18n/ru.toml"),
    ),
    (
        Language::En,
        include_str!("../../../templates/console/i18n/en.toml"),
    ),
];

/// `section.key` → text, per language.
type Table = HashMap<String, String>;

/// Reads one strings file: top-level keys and `[section]` tables become `key` and
/// `section.key`; every value must be a non-empty string.
pub fn parse(text: &str) -> Result<Table, String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Table) -> Result<(), String> {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::String(s) if !s.trim().is_empty() => {
                    out.insert(key, s.clone());
                }
                toml::Value::Table(t) => walk(&key, t, out)?,
                _ => return Err(format!("`{key}` must be a non-empty string")),
            }
        }
        Ok(())
    }
    let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
    let mut out = Table::new();
    walk("", &table, &mut out)?;
    Ok(out)
}

static STRINGS: LazyLock<Vec<(Language, Table)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(lang, text)| {
            let table =
                parse(text).unwrap_or_else(|e| panic!("templates/console/i18n/{lang}.toml: {e}"));
            (*lang, table)
        })
        .collect()
});

fn table(lang: Language) -> &'static Table {
    let lang = lang.reply_language();
    &STRINGS
        .iter()
        .find(|(l, _)| *l == lang)
        .expect("every console language has a strings file")
        .1
}

/// The text of `key` in `lang`, if the strings files define it.
pub fn get(lang: Language, key: &str) -> Option<&'static str> {
    table(lang).get(key).map(String::as_str)
}

/// The text of a key the handlers name (`every_key_used_is_defined` checks each exists in every
/// language); "…", logged, if one does not.
pub fn text(lang: Language, key: &str) -> &'static str {
    match get(lang, key) {
        Some(text) => text,
        None => {
            tracing::error!("console: no string `{key}` for {lang}");
            "…"
        }
    }
}

/// A label for a machine value (`kind.erasure`, `status.needs_review`); the value itself when
/// there is none.
pub fn label<'a>(lang: Language, prefix: &str, value: &'a str) -> Cow<'a, str> {
    match get(lang, &format!("{prefix}.{value}")) {
        Some(text) => Cow::Borrowed(text),
        None => Cow::Borrowed(value),
    }
}

/// A console language from a `?lang=` value, a cookie or an `Accept-Language` part
/// (`kk`, `ru-RU`, `EN`).
pub fn parse_language(s: &str) -> Option<Language> {
    match s.trim().to_ascii_lowercase().get(..2)? {
        "ru" => Some(Language::Ru),
        "en" => Some(Language::En),
        "kk" => Some(Language::Kk),
        _ => None,
    }
}

/// First supported language of an `Accept-Language` header (in the order given).
pub fn from_accept_language(header: &str) -> Option<Language> {
    header
        .split(',')
        .filter_map(|part| parse_language(part.split(';').next().unwrap_or("")))
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_resolve() {
        assert_eq!(
            from_accept_language("de-DE,en-US;q=0.8,ru;q=0.5"),
            Some(Language::En)
        );
        assert_eq!(from_accept_language("fr"), None);
        assert_eq!(parse_language("mixed"), None);
        assert_eq!(parse_language("KK"), Some(Language::Kk));
        assert_eq!(text(Language::Kk, "welcome"), "Қош келдіңіз");
        assert_eq!(label(Language::En, "kind", "erasure"), "erasure");
        assert_eq!(
            label(Language::En, "kind", "unknown_thing"),
            "unknown_thing"
        );
    }

    #[test]
    fn the_new_states_have_labels_in_every_language() {
        for status in ["disputed", "failed", "closed"] {
            for lang in LANGUAGES {
                assert!(
                    get(lang, &format!("status.{status}")).is_some(),
                    "{status} in {lang:?}"
                );
            }
            assert_ne!(
                label(Language::Ru, "status", status),
                status,
                "{status} in Russian"
            );
        }
        assert_eq!(label(Language::Ru, "status", "disputed"), "оспорен");
        assert_eq!(label(Language::Kk, "status", "closed"), "жабылған");
    }

    /// Kazakh is written out in full: no key falls back to another language.
    #[test]
    fn every_language_defines_every_key() {
        let tables: Vec<(Language, Table)> = FILES
            .iter()
            .map(|(lang, text)| (*lang, parse(text).unwrap()))
            .collect();
        let mut all: Vec<&String> = tables.iter().flat_map(|(_, t)| t.keys()).collect();
        all.sort();
        all.dedup();
        for (lang, table) in &tables {
            for key in &all {
                assert!(
                    table.contains_key(*key),
                    "`{key}` is missing in {lang}.toml"
                );
            }
        }
        let (_, kk) = &tables[0];
        let (_, ru) = &tables[1];
        let same: Vec<&String> = kk
            .iter()
            .filter(|(k, v)| ru.get(*k) == Some(v) && v.chars().any(char::is_alphabetic))
            .map(|(k, _)| k)
            .filter(|k| !["nav.audit", "req.timeline", "match.phone"].contains(&k.as_str()))
            .collect();
        assert!(same.is_empty(), "Kazakh copied from Russian: {same:?}");
    }

    #[test]
    fn a_bad_file_is_refused() {
        assert!(parse("a = \"\"").is_err());
        assert!(parse("a = 1").is_err());
        assert_eq!(
            parse("a = \"x\"\n[b]\nc = \"y\"\n")
                .unwrap()
                .get("b.c")
                .map(String::as_str),
            Some("y")
        );
    }
}
