//! Reading one `Authentication-Results` header value (RFC 8601) without being fooled by its
//! text: quoted strings and comments are taken as the grammar says, so a quoted `smtp.helo` or
//! a comment holding `; dkim=pass header.d=...` never becomes a result of its own.

/// One `method=result` with its properties (`header.d`, `smtp.mailfrom`, ...), lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// `dkim`, `spf`, `dmarc`, ... (a `/version` suffix is dropped).
    pub method: String,
    /// `pass`, `fail`, `none`, ...
    pub result: String,
    /// `ptype.property` → value, in order (`reason` included).
    pub properties: Vec<(String, String)>,
}

impl MethodResult {
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An `Authentication-Results` value: who wrote it and what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// The authserv-id, lower-cased.
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

/// Words, quoted strings, `=` and `;`; white space and (nested) comments separate them and
/// are dropped. An unterminated quoted string or comment ends the value.
fn tokens(value: &str) -> Vec<Token> {
    let mut out = vec![];
    let mut chars = value.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut out);
                let mut depth = 1;
                while depth > 0 {
                    match chars.next() {
                        Some('\\') => {
                            chars.next();
                        }
                        Some('(') => depth += 1,
                        Some(')') => depth -= 1,
                        Some(_) => {}
                        None => return out,
                    }
                }
            }
            '"' => {
                flush(&mut word, &mut out);
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => {
                            if let Some(escaped) = chars.next() {
                                text.push(escaped);
                            }
                        }
                        Some('"') => break,
                        Some(c) => text.push(c),
                        None => return out,
                    }
                }
                out.push(Token::Quoted(text));
            }
            ';' => {
                flush(&mut word, &mut out);
                out.push(Token::Semicolon);
            }
            '=' => {
                flush(&mut word, &mut out);
                out.push(Token::Equals);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Parses a header value; `None` when it has no authserv-id. A malformed result is skipped.
pub fn parse(value: &str) -> Option<AuthResults> {
    let tokens = tokens(value);
    let mut groups = tokens.split(|t| *t == Token::Semicolon);
    let authserv_id = match groups.next()?.first()? {
        Token::Word(w) => w.to_ascii_lowercase(),
        Token::Quoted(q) => q.to_ascii_lowercase(),
        _ => return None,
    };
    let results = groups.filter_map(result).collect();
    Some(AuthResults {
        authserv_id,
        results,
    })
}

/// `method[/version] = result *(property = value)`.
fn result(group: &[Token]) -> Option<MethodResult> {
    let [Token::Word(method), Token::Equals, Token::Word(result), rest @ ..] = group else {
        return None;
    };
    let method = method.split('/').next().unwrap_or_default();
    let mut properties = vec![];
    for pair in rest.chunks(3) {
        match pair {
            [Token::Word(key), Token::Equals, Token::Word(value) | Token::Quoted(value)] => {
                properties.push((key.to_ascii_lowercase(), value.to_ascii_lowercase()));
            }
            // Anything else makes the rest of this result unreadable: keep what was read.
            _ => break,
        }
    }
    Some(MethodResult {
        method: method.to_ascii_lowercase(),
        result: result.to_ascii_lowercase(),
        properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_methods_results_and_properties() {
        let ar = parse(
            "mx.nlg.kz; dkim=pass (2048-bit key; unprotected) header.d=Mail.KZ header.s=s1;\
             spf=pass smtp.mailfrom=a@mail.kz; dmarc = pass header.from=mail.kz",
        )
        .unwrap();
        assert_eq!(ar.authserv_id, "mx.nlg.kz");
        assert_eq!(ar.results.len(), 3);
        assert_eq!(ar.results[0].method, "dkim");
        assert_eq!(ar.results[0].property("header.d"), Some("mail.kz"));
        assert_eq!(ar.results[1].property("smtp.mailfrom"), Some("a@mail.kz"));
        assert_eq!(ar.results[2].result, "pass");
    }

    #[test]
    fn quoted_strings_and_comments_cannot_inject_results() {
        let ar = parse(
            "mx.nlg.kz 1; spf=none smtp.helo=\"x; dkim=pass header.d=victim.kz\";\
             dkim=fail (; dkim=pass header.d=victim.kz) header.d=evil.kz",
        )
        .unwrap();
        assert_eq!(ar.results.len(), 2, "{ar:?}");
        assert_eq!(
            ar.results[0].property("smtp.helo"),
            Some("x; dkim=pass header.d=victim.kz")
        );
        assert_eq!(ar.results[1].result, "fail");
        assert_eq!(ar.results[1].property("header.d"), Some("evil.kz"));
    }

    #[test]
    fn no_result_and_garbage() {
        let ar = parse("mx.nlg.kz; none").unwrap();
        assert!(ar.results.is_empty());
        assert!(parse("").is_none());
        assert!(parse("; dkim=pass").is_none());
        // An unterminated comment ends the value.
        let ar = parse("mx.nlg.kz; dkim=pass (header.d=mail.kz").unwrap();
        assert!(ar.results[0].property("header.d").is_none());
    }
}
