//! MIME to clean text: the sender's own new words, apart from quoted mail, forwarded blocks and
//! signatures.
//!
//! mail-parser decodes every charset and transfer encoding; this module picks the text part
//! (or turns HTML-only mail into text without fetching anything), undoes `format=flowed`, and
//! cuts the body where a reply header, an `-----Original Message-----` line, `>` quoting or a
//! signature starts. A forwarded block is kept apart as context: it is the sender's own words
//! only when the forwarded message came from the sender.

use std::collections::HashMap;
use std::sync::LazyLock;

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

/// The text of one message, split by who wrote it.
#[derive(Debug, Clone, Default)]
pub struct Body {
    /// The sender's own new words.
    pub own: String,
    /// Quoted earlier messages (reply history).
    pub quoted: String,
    /// The attribution lines above quoted mail ("On …, Name <a@b> wrote:", "From: …"), which
    /// say who wrote it.
    pub quoted_from: Vec<String>,
    /// Forwarded messages: (From line of the forwarded header, text).
    pub forwarded: Vec<Forwarded>,
    /// Signature lines cut from the end of the sender's words.
    pub signature: String,
    /// File names of attachments.
    pub attachments: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Forwarded {
    /// The forwarded message's `From:` line as written (may be empty).
    pub from: String,
    pub text: String,
}

/// Extracts the body of a parsed message.
pub fn body(message: &Message<'_>) -> Body {
    let raw = main_text(message);
    let mut body = split(&raw);
    body.attachments = message
        .attachments()
        .filter_map(|a| a.attachment_name().map(str::to_owned))
        .collect();
    body
}

/// The best text of the message: the first text/plain body, else its HTML turned to text.
fn main_text(message: &Message<'_>) -> String {
    let part = message
        .text_body
        .first()
        .and_then(|i| message.parts.get(*i as usize));
    match part {
        Some(p) => part_text(p),
        None => message
            .html_body
            .first()
            .and_then(|i| message.parts.get(*i as usize))
            .map(part_text)
            .unwrap_or_default(),
    }
}

fn part_text(part: &MessagePart<'_>) -> String {
    let text = part_text_as_declared(part);
    let declared = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(str::to_ascii_lowercase);
    match declared.as_deref() {
        Some("windows-1251" | "cp1251" | "win-1251") => repair_utf8_read_as_cp1251(&text),
        _ => text,
    }
}

/// Windows-1251 characters back to their bytes (for text that was UTF-8 all along).
static CP1251: LazyLock<HashMap<char, u8>> = LazyLock::new(|| {
    let decode = mail_parser::decoders::charsets::map::charset_decoder(b"windows-1251")
        .expect("mail-parser knows windows-1251");
    (0x80u8..=0xFF)
        .filter_map(|b| decode(&[b]).chars().next().map(|c| (c, b)))
        .collect()
});

/// UTF-8 mail labelled `windows-1251` decodes to "Р—РґСЂР°РІ…" (mojibake). When the decoded
/// text maps back to bytes that are valid UTF-8 holding Cyrillic, those bytes were the real
/// text; genuine windows-1251 Russian never re-encodes to valid UTF-8 of that kind.
fn repair_utf8_read_as_cp1251(text: &str) -> String {
    // Cheap test first: Cyrillic in UTF-8 starts with bytes D0-D3, read as "Р", "С", "Т", "У".
    let leads = text
        .chars()
        .filter(|c| matches!(c, 'Р' | 'С' | 'Т' | 'У'))
        .count();
    if leads * 5 < text.chars().filter(|c| !c.is_ascii()).count() {
        return text.to_owned();
    }
    let mut bytes = Vec::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            bytes.push(c as u8);
        } else if let Some(b) = CP1251.get(&c) {
            bytes.push(*b);
        } else {
            return text.to_owned();
        }
    }
    match String::from_utf8(bytes) {
        Ok(s) if s.chars().any(|c| ('\u{400}'..='\u{4FF}').contains(&c)) => s,
        _ => text.to_owned(),
    }
}

fn part_text_as_declared(part: &MessagePart<'_>) -> String {
    match &part.body {
        PartType::Text(t) => {
            let flowed = part.content_type().is_some_and(|ct| {
                ct.attribute("format")
                    .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
            });
            if flowed {
                let delsp = part.content_type().is_some_and(|ct| {
                    ct.attribute("delsp")
                        .is_some_and(|f| f.eq_ignore_ascii_case("yes"))
                });
                unflow(t, delsp)
            } else {
                t.replace("\r\n", "\n")
            }
        }
        PartType::Html(h) => html_to_text(h),
        _ => String::new(),
    }
}

/// Undoes RFC 3676 `format=flowed`: a line ending in a space continues on the next line.
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut continuing = false;
    for line in text.replace("\r\n", "\n").split('\n') {
        let depth = line.chars().take_while(|c| *c == '>').count();
        let mut content = &line[depth..];
        if content.starts_with(' ') {
            content = &content[1..]; // space-stuffing
        }
        if !continuing && depth > 0 {
            out.push_str(&">".repeat(depth));
            out.push(' ');
        }
        let soft = content.ends_with(' ') && content != "-- ";
        if soft {
            let kept = if delsp {
                &content[..content.len() - 1]
            } else {
                content
            };
            out.push_str(kept);
            continuing = true;
        } else {
            out.push_str(content);
            out.push('\n');
            continuing = false;
        }
    }
    out
}

/// HTML to plain text: block elements end lines, `<blockquote>` becomes `>` quoting, head,
/// style and script are dropped, entities decoded. Nothing is fetched.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut quote_depth = 0usize;
    let mut skip_depth = 0usize;
    let mut rest = html;
    let mut at_line_start = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        if rest.starts_with('<') {
            let end = rest.find('>').unwrap_or(rest.len() - 1);
            let tag = &rest[1..end];
            rest = &rest[(end + 1).min(rest.len())..];
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
                .collect::<String>()
                .to_ascii_lowercase();
            match name.as_str() {
                "head" | "style" | "script" | "title" | "template" => {
                    if closing {
                        skip_depth = skip_depth.saturating_sub(1);
                    } else if !tag.ends_with('/') {
                        skip_depth += 1;
                    }
                }
                "blockquote" => {
                    if closing {
                        quote_depth = quote_depth.saturating_sub(1);
                    } else {
                        quote_depth += 1;
                    }
                    newline(&mut out, &mut at_line_start);
                }
                "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
                | "table" | "ul" | "ol" | "hr" | "pre" => newline(&mut out, &mut at_line_start),
                "td" | "th" if !closing => out.push_str(" \t "),
                _ => {}
            }
            continue;
        }
        let next = rest.find('<').unwrap_or(rest.len());
        let chunk = &rest[..next];
        rest = &rest[next..];
        if skip_depth > 0 {
            continue;
        }
        let decoded = decode_entities(chunk);
        for c in decoded.chars() {
            if c == '\n' || c == '\r' || c == '\t' || c == ' ' || c == '\u{a0}' {
                if !at_line_start && !out.ends_with(' ') {
                    out.push(' ');
                }
                continue;
            }
            if at_line_start && quote_depth > 0 {
                out.push_str(&">".repeat(quote_depth));
                out.push(' ');
            }
            at_line_start = false;
            out.push(c);
        }
    }
    out
}

fn newline(out: &mut String, at_line_start: &mut bool) {
    while out.ends_with(' ') {
        out.pop();
    }
    out.push('\n');
    *at_line_start = true;
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match rest.find(';').filter(|j| *j <= 10) {
            Some(j) => {
                let token = &rest[..=j];
                let before = out.len();
                mail_parser::decoders::html::add_html_token(&mut out, token.as_bytes(), false);
                if out.len() == before {
                    out.push_str(token);
                }
                rest = &rest[j + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Splits plain text into own words, quoted history, forwarded blocks and signature.
pub fn split(text: &str) -> Body {
    let lines: Vec<&str> = text.lines().collect();
    let mut body = Body::default();
    let mut own: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        if trimmed.starts_with('>') {
            body.quoted.push_str(trimmed.trim_start_matches(['>', ' ']));
            body.quoted.push('\n');
            i += 1;
            continue;
        }
        if is_forward_marker(trimmed) {
            let (fwd, next) = forwarded(&lines, i + 1);
            body.forwarded.push(fwd);
            i = next;
            continue;
        }
        if is_reply_header(&lines, i) {
            // Everything below a reply header is the earlier message.
            let mut attribution = line.trim().to_owned();
            if let Some(next) = lines.get(i + 1) {
                attribution.push(' ');
                attribution.push_str(next.trim());
            }
            body.quoted_from.push(attribution);
            for l in &lines[i..] {
                body.quoted.push_str(l.trim_start_matches(['>', ' ']));
                body.quoted.push('\n');
            }
            break;
        }
        if is_signature_start(trimmed) {
            let mut j = i;
            while j < lines.len()
                && !is_forward_marker(lines[j].trim())
                && !is_reply_header(&lines, j)
                && !lines[j].trim().starts_with('>')
            {
                body.signature.push_str(lines[j]);
                body.signature.push('\n');
                j += 1;
            }
            i = j;
            continue;
        }
        own.push(line);
        i += 1;
    }
    body.own = own.join("\n").trim().to_owned();
    body
}

/// The lines of a forwarded block up to the next forward marker; returns the next line index.
fn forwarded(lines: &[&str], start: usize) -> (Forwarded, usize) {
    let mut fwd = Forwarded::default();
    let mut j = start;
    let mut in_header = true;
    while j < lines.len() {
        let t = lines[j].trim();
        if is_forward_marker(t) {
            break;
        }
        if in_header {
            if t.is_empty() && j > start {
                in_header = false;
            } else if let Some(v) = header_value(t, FROM_WORDS) {
                fwd.from = v.to_owned();
                j += 1;
                continue;
            } else if header_value(t, HEADER_WORDS).is_some() || t.is_empty() {
                j += 1;
                continue;
            } else {
                in_header = false;
            }
        }
        if !is_signature_start(t) {
            fwd.text.push_str(t.trim_start_matches(['>', ' ']));
            fwd.text.push('\n');
        }
        j += 1;
    }
    (fwd, j)
}

const FROM_WORDS: &[&str] = &["from", "от", "кімнен", "кимнен", "отправитель"];
const HEADER_WORDS: &[&str] = &[
    "from",
    "to",
    "cc",
    "date",
    "sent",
    "subject",
    "от",
    "кому",
    "копия",
    "дата",
    "отправлено",
    "тема",
    "кімнен",
    "кімге",
    "күні",
    "тақырыбы",
    "жіберілді",
];

fn header_value<'a>(line: &'a str, words: &[&str]) -> Option<&'a str> {
    let (name, value) = line.split_once(':')?;
    let name = name.trim().trim_matches('*').to_lowercase();
    words.contains(&name.as_str()).then_some(value.trim())
}

fn is_forward_marker(line: &str) -> bool {
    // Cheap test first: every marker starts (after dashes) with one of these letters.
    let first = line
        .chars()
        .find(|c| !matches!(c, '-' | '_' | ' '))
        .unwrap_or(' ');
    if !matches!(
        first,
        'f' | 'F' | 'b' | 'B' | 'п' | 'П' | 'ж' | 'Ж' | 'қ' | 'Қ'
    ) {
        return false;
    }
    let l = line.to_lowercase();
    let dashed = line.starts_with("---") || line.starts_with("___");
    let l = l.trim_matches(|c: char| c == '-' || c == ' ' || c == '_');
    // "-------- Қайта жіберілген хабарлама --------", "----- Пересланное письмо -----".
    const FORWARD_WORDS: &[&str] = &["forward", "пересл", "пересыл", "жіберілген", "переадрес"];
    if dashed && FORWARD_WORDS.iter().any(|w| l.contains(w)) {
        return true;
    }
    l.starts_with("forwarded message")
        || l.starts_with("begin forwarded message")
        || l.starts_with("пересылаемое сообщение")
        || l.starts_with("пересланное сообщение")
        || l.starts_with("переадресованное сообщение")
        || l.starts_with("жіберілген хат")
        || l.starts_with("қайта жіберілген хат")
        || l.starts_with("перенаправленное сообщение")
        || (line.starts_with("-----") && l.starts_with("forwarded"))
}

/// A reply header: `On … wrote:` in the languages and clients the mailbox sees, an Outlook
/// `From:`/`Sent:` block, or an `-----Original Message-----` line.
fn is_reply_header(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    if line.is_empty() {
        return false;
    }
    // Every reply header has a colon on its line or the next, or is a line of dashes/underscores.
    let next_colon = lines.get(i + 1).is_some_and(|n| n.contains(':'));
    if !line.contains(':') && !next_colon && !line.starts_with("---") && !line.starts_with("___") {
        return false;
    }
    let l = line.to_lowercase();
    let dashed = l.trim_matches(|c: char| c == '-' || c == ' ' || c == '_');
    if line.starts_with("---")
        && (dashed.starts_with("original message")
            || dashed.starts_with("исходное сообщение")
            || dashed.starts_with("бастапқы хат")
            || dashed.starts_with("reply message"))
    {
        return true;
    }
    if line.starts_with("________________") {
        return lines
            .get(i + 1)
            .is_some_and(|n| header_value(n.trim(), FROM_WORDS).is_some());
    }
    // Outlook: "From: …" followed within two lines by "Sent:"/"Date:"/"Отправлено:".
    if header_value(line, FROM_WORDS).is_some() {
        return lines.iter().skip(i + 1).take(3).any(|n| {
            header_value(
                n.trim(),
                &["sent", "date", "отправлено", "дата", "жіберілді", "күні"],
            )
            .is_some()
        });
    }
    // "On Mon, … wrote:" possibly wrapped onto the next line.
    let joined = match lines.get(i + 1) {
        Some(n) if !l.trim_end().ends_with(':') => format!("{l} {}", n.trim().to_lowercase()),
        _ => l.clone(),
    };
    let ends_colon = l.trim_end().ends_with(':') || joined.trim_end().ends_with(':');
    if !ends_colon {
        return false;
    }
    const WROTE: &[&str] = &[
        "wrote:",
        "написал:",
        "написала:",
        "написал(а):",
        "пишет:",
        "жазды:",
        "жазған:",
        "хат жазды:",
        "schrieb:",
        "a écrit",
    ];
    let has_wrote = WROTE.iter().any(|w| joined.contains(w))
        || joined.trim_end().ends_with(">:")
        || joined.trim_end().ends_with("> :");
    let has_date_or_addr =
        joined.contains('@') || joined.chars().filter(char::is_ascii_digit).count() >= 4;
    has_wrote && (has_date_or_addr || l.starts_with("on ") || l.starts_with("в "))
}

fn is_signature_start(line: &str) -> bool {
    if line == "--" || line == "-- " || line == "—" {
        return true;
    }
    let first = line.chars().next().unwrap_or(' ');
    if !matches!(
        first,
        's' | 'S' | 'g' | 'G' | 'о' | 'О' | 'i' | 'I' | 'ж' | 'Ж'
    ) {
        return false;
    }
    let l = line.to_lowercase();
    const SENT_FROM: &[&str] = &[
        "sent from my",
        "sent from outlook",
        "get outlook for",
        "отправлено с iphone",
        "отправлено с моего",
        "отправлено из",
        "отправлено с ",
        "iphone-нан жіберілді",
        "жіберілді:",
        "sent with ",
    ];
    SENT_FROM.iter().any(|s| l.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_reply_header_cuts_the_quote() {
        let b = split("Please delete it.\n\nOn Tue, 3 Jun 2025 at 10:00, Shop <news@shop.kz> wrote:\n> Unsubscribe here\n");
        assert_eq!(b.own, "Please delete it.");
        assert!(b.quoted.contains("Unsubscribe"));
        assert!(b.quoted_from[0].contains("news@shop.kz"));
    }

    #[test]
    fn russian_and_kazakh_reply_headers() {
        let b = split("Да, подтверждаю.\n\nпн, 2 июн. 2025 г. в 10:00, NLG <info@nlg.kz>:\n");
        assert_eq!(b.own, "Да, подтверждаю.");
        let b = split("Иә.\n\n2025 ж. 2 маус. 10:00 NLG <info@nlg.kz> жазды:\nбұрынғы хат\n");
        assert_eq!(b.own, "Иә.");
        let b = split("Да.\n\n02.06.2025, 10:00, \"NLG\" <info@nlg.kz> написал:\nстарое\n");
        assert_eq!(b.own, "Да.");
    }

    #[test]
    fn outlook_original_message_and_from_sent_block() {
        let b = split("Keep it.\n\n-----Original Message-----\nFrom: A\nSent: today\nold text\n");
        assert_eq!(b.own, "Keep it.");
        assert!(b.quoted_from[0].contains("From: A"), "{:?}", b.quoted_from);
        let b = split("Оставьте.\n\nFrom: NLG <info@nlg.kz>\nSent: Monday\nSubject: x\n\nold\n");
        assert_eq!(b.own, "Оставьте.");
    }

    #[test]
    fn signature_is_cut_and_forward_kept_apart() {
        let b = split("Удалите аккаунт.\n\nОтправлено с iPhone\n");
        assert_eq!(b.own, "Удалите аккаунт.");
        let b = split("Қараңыз.\n\n-------- Қайта жіберілген хабарлама --------\nКімнен: Досым <dos@mail.kz>\nКүні: бүгін\n\nЕскі сөздер.\n");
        assert_eq!(b.own, "Қараңыз.");
        assert_eq!(b.forwarded[0].from, "Досым <dos@mail.kz>");
        let b = split("See below.\n\n---------- Forwarded message ---------\nFrom: Me <me@mail.kz>\nDate: today\nSubject: x\n\nOld words here.\n");
        assert_eq!(b.own, "See below.");
        assert_eq!(b.forwarded[0].from, "Me <me@mail.kz>");
        assert!(b.forwarded[0].text.contains("Old words here."));
    }

    #[test]
    fn utf8_labelled_windows_1251_is_repaired_and_real_1251_is_kept() {
        let original = "Здравствуйте! Менің деректерімді жойыңыз.";
        let decode =
            mail_parser::decoders::charsets::map::charset_decoder(b"windows-1251").unwrap();
        let mojibake = decode(original.as_bytes());
        assert!(mojibake.starts_with("Р—"), "{mojibake}");
        assert_eq!(repair_utf8_read_as_cp1251(&mojibake), original);
        let genuine = "Прошу удалить мои данные. Спасибо!";
        assert_eq!(repair_utf8_read_as_cp1251(genuine), genuine);
    }

    #[test]
    fn flowed_lines_are_joined() {
        assert_eq!(unflow("one \ntwo\n", false), "one two\n\n");
        assert_eq!(unflow("> a \n> b\n", false), "> a b\n\n");
    }

    #[test]
    fn html_blocks_quotes_and_entities() {
        let t = html_to_text("<html><head><style>p{}</style></head><body><div>Hi &amp; bye</div><div>two&nbsp;x</div><blockquote><div>old</div></blockquote></body></html>");
        assert!(t.contains("Hi & bye\n"), "{t:?}");
        assert!(t.contains("two x"), "{t:?}");
        assert!(t.contains("> old"), "{t:?}");
        assert!(!t.contains("p{}"));
    }
}
