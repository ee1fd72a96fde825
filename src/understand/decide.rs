//! From the sender's words to an [`Understanding`]: the kind, whether staff must look first,
//! whether to reply, the language and the identifiers.
//!
//! Only the plainly simple is left to the machine. A request is read from the sender's own new
//! words (a reply's or forward's subject counts only when those say nothing); a disclosing or
//! destructive kind needs a clear statement (a strong phrase, a verb with its object, or a verb
//! asked for with "прошу"/an imperative/a first-person form). Anything else that still looks like
//! a request goes to staff with the reason: somebody else's data (relatives, employees, clients,
//! heirs, another person's IIN), a representative, an authority's claim, a request standing only
//! in quoted or forwarded mail or in an attachment, a complaint or threat without a demand, a
//! debt or a contract in force (art. 8(2)), another address to answer, a reply-all that only
//! copies the company, conflicting asks. Request words about something else (a software fault,
//! an invoice, a service question, a subscription) make no request.

use std::sync::Arc;

use super::identifiers;
use super::intent::Analysis;
use super::language;
use super::text::Body;
use super::vocabulary::Vocabulary;
use super::{Company, Envelope, Understanding};
use crate::domain::{EmailAddress, Language, MailKind, RequestKind};

use RequestKind::*;

pub fn understand(
    env: &Envelope,
    body: &Body,
    bulk: bool,
    company: &Company,
    vocabulary: &Arc<Vocabulary>,
) -> Understanding {
    let mut reasons: Vec<String> = Vec::new();
    let sender = env.from.as_ref().map(|a| a.as_str().to_lowercase());
    let from_company = sender.as_deref().is_some_and(|s| company.owns(s));
    let reply_to = env.reply_to.as_ref().map(|a| a.as_str().to_lowercase());
    let form = from_company && reply_to.as_deref().is_some_and(|r| !company.owns(r));
    let answerable = if form {
        reply_to.clone()
    } else if from_company {
        None
    } else {
        reply_to.clone().or(sender.clone())
    };
    let noreply = answerable.as_deref().is_some_and(is_noreply);
    // Written to somebody else with the company only in copy (a reply-all).
    let addressed_elsewhere = !env.to.is_empty()
        && env.to.iter().all(|a| !company.owns(a.as_str()))
        && env.cc.iter().any(|a| company.owns(a.as_str()));

    // The sender's own words: new text, plus forwarded mail that they wrote themselves.
    let mut own = if form {
        form_message(&body.own).unwrap_or_else(|| body.own.clone())
    } else {
        body.own.clone()
    };
    let mut foreign_forward = String::new();
    for f in &body.forwarded {
        let theirs = sender
            .as_deref()
            .is_some_and(|s| f.from.to_lowercase().contains(s));
        if theirs {
            own.push('\n');
            own.push_str(&f.text);
        } else {
            foreign_forward.push_str(&f.text);
            foreign_forward.push('\n');
        }
    }

    let analyse = |text: &str| Analysis::with(vocabulary, text);
    let subject = clean_subject(&env.subject);
    let is_reply = is_reply_subject(&env.subject);
    let is_forward = is_forward_subject(&env.subject);
    let mut a = analyse(&own);
    let body_has_kind = a.any_kind();
    let words = own.split_whitespace().count();
    let s = analyse(&subject.text);
    // The subject of a reply is usually ours or the quoted mail's, and a forward's is the
    // forwarded mail's: it counts only when the new words say (almost) nothing and no earlier
    // mail of somebody else is quoted or forwarded.
    let subject_counts = if is_forward && !body.forwarded.is_empty() {
        false
    } else if is_reply {
        !body_has_kind && words <= 3
    } else {
        true
    };
    a.merge(&s, subject_counts);

    let mut review = false;
    let flag = |reasons: &mut Vec<String>, why: &str| {
        reasons.push(why.to_owned());
        true
    };

    let attachments = body.attachments.join("\n");
    let mut kind: Option<RequestKind> = None;
    // The request was read from our own acknowledgement, which the sender confirms.
    let mut confirmed = false;
    let ranked = a.ranked();
    // The quoted mail is the company's own (our acknowledgement, our newsletter).
    let quoted_ours = body
        .quoted_from
        .iter()
        .any(|l| mentions_company_address(l, company));

    if bulk {
        reasons.push("bulk or mailing-list mail (List-*/Precedence headers)".to_owned());
    } else if let Some(&(top, score)) = ranked.first() {
        kind = Some(top);
        // Marketing is the mildest reading: any other clear request wins.
        if top == MarketingOptOut {
            if let Some(&(other, _)) = ranked
                .iter()
                .find(|(k, s)| *k != MarketingOptOut && *s >= 3)
            {
                kind = Some(other);
            }
        }
        let k = kind.unwrap_or(top);
        let asked = a.plea || a.is_direct(k);
        let strong = score >= 3 || asked;
        if a.business >= 2 && !(asked && score >= 3 && a.business < 4) {
            kind = None;
            reasons.push(
                "business mail (offer, invoice, job, notice or phishing), not a request".to_owned(),
            );
        } else if a.just_asking && !a.is_direct(k) {
            kind = None;
            reasons.push("only asks about the company's practice, makes no request".to_owned());
        } else if a.negated(k) && score < 3 {
            kind = None;
            reasons.push("asks the opposite of a request (\"do not…\", \"subscribe\")".to_owned());
        } else if score < 2 && (!strong || k.is_sensitive()) {
            kind = None;
            reasons.push("only a passing mention of a request word".to_owned());
        } else if (k == Rectification
            && !a.personal_field
            && ((a.software && a.score(Rectification) < 3) || a.company_field))
            || (k == Erasure && a.company_field && !a.has_object(Erasure))
        {
            kind = None;
            reasons.push(
                "about a software fault or a document, not the sender's personal data".to_owned(),
            );
        }
    } else if a.confirm && (is_reply || !body.quoted.is_empty()) {
        // "Yes, I confirm" to our acknowledgement: the request is the one we quoted.
        let q = analyse(&body.quoted);
        if let Some(&(k, _)) = q.ranked().first() {
            kind = Some(k);
            confirmed = true;
            reasons.push("confirms a request quoted from our acknowledgement".to_owned());
        }
    } else if a.vague {
        kind = Some(Restriction);
        review = flag(&mut reasons, "a demand with no clear object (\"stop it\")");
    } else if a.asked_how.iter().any(|x| *x) {
        reasons.push("asks how to make a request, does not make one".to_owned());
    } else {
        reasons.push("no data-subject request found".to_owned());
    }

    // Where else a request may stand when the new words hold none.
    if kind.is_none() && !bulk {
        let from_attachment =
            !body.attachments.is_empty() && (words <= 3 || a.attachment) && a.business < 2;
        // A request in earlier mail: clearly worded, or asked for in so many words.
        let request_in = |text: &str| -> Option<RequestKind> {
            let q = analyse(text);
            q.ranked()
                .first()
                .copied()
                .filter(|(k, s)| *s >= 3 || (*s >= 2 && (q.plea || q.is_direct(*k))))
                .map(|(k, _)| k)
        };
        let quoted = if quoted_ours || body.quoted.trim().is_empty() {
            None
        } else {
            request_in(&body.quoted)
        };
        let forwarded = if foreign_forward.trim().is_empty() {
            None
        } else {
            request_in(&foreign_forward)
        };
        if from_attachment {
            let t = analyse(&format!("{}\n{}", subject.text, attachments));
            // An application titled only "application" / "өтініш" / "заявление".
            kind = t
                .ranked()
                .first()
                .map(|x| x.0)
                .or_else(|| (t.plea || a.attachment).then_some(WithdrawConsent));
            if kind.is_some() {
                review = flag(&mut reasons, "the application is only in an attachment");
            }
        }
        if kind.is_none() {
            if let Some(k) = quoted {
                kind = Some(k);
                review = flag(
                    &mut reasons,
                    "the request stands only in quoted earlier mail; the new words ask something else",
                );
            } else if let Some(k) = forwarded {
                kind = Some(k);
                review = flag(
                    &mut reasons,
                    "the request is in a message forwarded from someone else",
                );
            } else if a.dispute && !addressed_elsewhere {
                // "It wasn't me" about a request of ours: the request it disputes.
                kind = RequestKind::ALL
                    .into_iter()
                    .find(|k| a.negated(*k))
                    .or(Some(Erasure));
                review = flag(
                    &mut reasons,
                    "the sender says a request in their name was not theirs",
                );
            } else if (a.threat || a.incident || a.authority) && !addressed_elsewhere {
                kind = Some(Restriction);
                review = flag(
                    &mut reasons,
                    "a complaint, threat or claim without a clear demand",
                );
            }
        }
    }

    // A request read only from the subject while the new words point to an attachment.
    if kind.is_some()
        && !review
        && !body_has_kind
        && !is_reply
        && (a.attachment || !body.attachments.is_empty())
    {
        review = flag(&mut reasons, "the application is only in an attachment");
    }

    // Identifiers and language.
    let context = identifiers::Context {
        about_others: a.third_party || a.representative || a.authority,
        child: a.child,
    };
    let ids = identifiers::find(
        &format!("{own}\n{}", body.signature),
        company,
        vocabulary,
        context,
    );
    let language = language::detect(&own)
        .or_else(|| language::detect(&format!("{}\n{}", env.subject, attachments)))
        .unwrap_or(Language::Kk);

    if addressed_elsewhere && kind.is_some_and(|k| !k.is_sensitive()) {
        kind = None;
        reasons.push("addressed to somebody else; the company is only in copy".to_owned());
    }

    let Some(kind) = kind else {
        return Understanding {
            kind: MailKind::NotARequest,
            also: vec![],
            review: false,
            reply: false,
            language,
            iin: ids.iin,
            bin: ids.bin,
            phones: ids.phones,
            invalid_iin: ids.invalid_iin,
            reasons,
        };
    };

    let also: Vec<RequestKind> = ranked
        .iter()
        .filter(|(k, s)| *k != kind && *s >= 2)
        .map(|(k, _)| *k)
        .collect();

    // Review: would a careful person act alone?
    if a.representative {
        review = flag(
            &mut reasons,
            "written by a representative (lawyer, power of attorney)",
        );
    }
    if a.third_party || !ids.others_iin.is_empty() {
        review = flag(
            &mut reasons,
            "concerns another person's data (family member, employee, client, deceased)",
        );
    }
    if a.authority {
        review = flag(
            &mut reasons,
            "claims to act for an authority (police, prosecutor, court)",
        );
    }
    if a.dispute {
        review = flag(&mut reasons, "the sender says they never made this request");
    }
    if a.incident {
        review = flag(&mut reasons, "mentions fraud, a leak, theft or hacking");
    }
    if a.threat && kind.is_sensitive() && !(a.plea || a.is_direct(kind)) {
        review = flag(&mut reasons, "a complaint or threat without a clear demand");
    }
    if a.debt && matches!(kind, WithdrawConsent | Erasure) {
        review = flag(
            &mut reasons,
            "an unpaid invoice or active contract may prevent withdrawal (art. 8(2))",
        );
    }
    if addressed_elsewhere {
        review = flag(
            &mut reasons,
            "addressed to somebody else; the company is only in copy",
        );
    }
    let other_address = other_addresses(&own, &sender, &reply_to, company);
    if kind.is_sensitive() && (a.new_address || other_address) {
        review = flag(
            &mut reasons,
            "names another e-mail address than the one it was sent from",
        );
    }
    if ids.iin.len() > 1 {
        review = flag(
            &mut reasons,
            "identifiers contradict each other (more than one IIN)",
        );
    }
    if kind == Rectification && ids.iin.len() + ids.invalid_iin.len() + ids.others_iin.len() > 1 {
        review = flag(&mut reasons, "asks to change an IIN: identity-critical");
    }
    let keep_conflict = (a.keep || a.negated(Erasure))
        && (a.score(WithdrawConsent) > 0 || a.score(Erasure) > 0)
        && kind != Restriction
        && kind != MarketingOptOut;
    if keep_conflict && a.score(Erasure) > 0 {
        review = flag(&mut reasons, "asks both to delete and to keep data");
    } else if keep_conflict {
        review = flag(
            &mut reasons,
            "withdraws consent but asks to keep the account: conflicting",
        );
    }
    if a.score(Erasure) >= 3 && a.score(Restriction) >= 3 {
        review = flag(&mut reasons, "asks both to block and to delete");
    }
    if form {
        review = flag(
            &mut reasons,
            "website form: the sender's address is not verified by the mail",
        );
    }
    if answerable.is_none() || noreply {
        review = flag(&mut reasons, "no usable address to answer");
    }
    if kind.is_sensitive()
        && !confirmed
        && a.score(kind) < 3
        && !a.is_direct(kind)
        && !(a.plea && a.score(kind) >= 2)
    {
        review = flag(&mut reasons, "the request is not stated clearly");
    }
    reasons.insert(0, format!("asks for {kind}"));

    Understanding {
        kind: MailKind::Request(kind),
        also,
        review,
        reply: answerable.is_some() && !noreply,
        language,
        iin: ids.iin,
        bin: ids.bin,
        phones: ids.phones,
        invalid_iin: ids.invalid_iin,
        reasons,
    }
}

/// Addresses in `text` (words with an `@` between a local part and a dotted domain).
fn addresses(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| {
        c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | '"' | '\'')
    })
    .filter(|w| w.contains('@'))
    .filter_map(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        EmailAddress::parse(w)
            .ok()
            .map(|a| a.as_str().to_lowercase())
    })
}

fn mentions_company_address(line: &str, company: &Company) -> bool {
    addresses(line).any(|a| company.owns(&a))
}

/// The sender's words name an address that is neither the sender's nor the company's.
fn other_addresses(
    own: &str,
    sender: &Option<String>,
    reply_to: &Option<String>,
    company: &Company,
) -> bool {
    own.contains('@')
        && addresses(own).any(|a| {
            Some(&a) != sender.as_ref() && Some(&a) != reply_to.as_ref() && !company.owns(&a)
        })
}

fn is_noreply(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or_default();
    [
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "mailer-daemon",
        "postmaster",
    ]
    .iter()
    .any(|n| local.contains(n))
}

struct Subject {
    text: String,
}

const REPLY_PREFIXES: &[&str] = &["re:", "ответ:", "rv:", "aw:", "жауап:", "отв:"];
const FORWARD_PREFIXES: &[&str] = &["fwd:", "fw:", "пересл:", "тж:"];

fn is_reply_subject(subject: &str) -> bool {
    let s = subject.trim().to_lowercase();
    REPLY_PREFIXES.iter().any(|p| s.starts_with(p))
}

fn is_forward_subject(subject: &str) -> bool {
    let s = subject.trim().to_lowercase();
    FORWARD_PREFIXES.iter().any(|p| s.starts_with(p))
}

/// The subject without reply/forward prefixes and `[DSR-…]` references.
fn clean_subject(subject: &str) -> Subject {
    let mut s = subject.trim().to_owned();
    loop {
        let lower = s.to_lowercase();
        let prefix = REPLY_PREFIXES
            .iter()
            .chain(FORWARD_PREFIXES)
            .find(|p| lower.starts_with(*p));
        if let Some(p) = prefix {
            s = s[p.len()..].trim_start().to_owned();
            continue;
        }
        if s.starts_with('[') {
            if let Some(end) = s.find(']') {
                s = s[end + 1..].trim_start().to_owned();
                continue;
            }
        }
        break;
    }
    Subject { text: s }
}

/// The free-text field of a website contact form rendered as a table.
fn form_message(text: &str) -> Option<String> {
    const LABELS: &[&str] = &[
        "сообщение",
        "message",
        "хабарлама",
        "текст",
        "текст обращения",
        "мәтін",
        "comment",
        "комментарий",
        "тема обращения",
        "subject",
        "тақырып",
    ];
    let mut out = String::new();
    for line in text.lines() {
        let parts: Vec<&str> = line
            .split('\t')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() >= 2 && LABELS.contains(&parts[0].to_lowercase().as_str()) {
            out.push_str(&parts[1..].join(" "));
            out.push('\n');
        } else if parts.len() >= 2 {
            // Other fields (name, phone) are kept for identifiers but not for language.
            out.push_str(&format!("\t{}\n", parts[1..].join(" ")));
        }
    }
    (!out.trim().is_empty()).then_some(out)
}
