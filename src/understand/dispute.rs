//! Does a reply to one of our e-mails dispute the request it answers?
//!
//! A person who receives our confirmation mail for a request they never made answers the way
//! people do: "Это не я писал! Ничего не удаляйте.", "it wasn't me, don't delete anything",
//! "мен жазған жоқпын". Such a reply must cancel the request even when it quotes our mail (and
//! so the code). The reading uses the same clause-level cue vocabulary and negation handling as
//! the classifier ([`Analysis`]); it is given only the sender's own new words (quotes removed).

use super::intent::Analysis;
use crate::domain::RequestKind;

/// Whether `own_text` (the reply's new words and its own subject) disputes a request of `kind`.
pub fn disputes(own_text: &str, kind: RequestKind) -> bool {
    let a = Analysis::of(own_text);
    // "I never asked", "it wasn't me", "do nothing".
    if a.dispute || a.cancel {
        return true;
    }
    // "Do not delete" / "не отзывайте" about the very thing the request asks for, or any
    // destructive kind negated ("ничего не удаляйте" answering a withdrawal).
    a.negated(kind)
        || (kind != RequestKind::MarketingOptOut
            && [
                RequestKind::Erasure,
                RequestKind::WithdrawConsent,
                RequestKind::Restriction,
            ]
            .iter()
            .any(|k| a.negated(*k) && a.score(*k) == 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestKind::*;

    #[test]
    fn disputes_in_three_languages() {
        for (text, kind) in [
            ("Это не я писал! Ничего не удаляйте.", Erasure),
            (
                "Я ничего не отправляла, это не мой запрос.",
                WithdrawConsent,
            ),
            ("It wasn't me. Please do not delete anything.", Erasure),
            ("I never asked for this", Access),
            ("Мен жазған жоқпын, ештеңе жоймаңыз.", Erasure),
            ("Бұл мен емес.", Restriction),
            ("Не удаляйте мои данные!", Erasure),
            (
                "Please don't withdraw anything, I did not write to you.",
                WithdrawConsent,
            ),
        ] {
            assert!(disputes(text, kind), "{text}");
        }
    }

    #[test]
    fn confirmations_and_plain_answers_are_not_disputes() {
        for (text, kind) in [
            ("Да, это я. Код ABCD-EFGH. Удаляйте.", Erasure),
            ("Yes, it was me, go ahead: ABCD-EFGH", Erasure),
            ("Иә, мен жаздым. ABCD-EFGH", WithdrawConsent),
            ("Подтверждаю, прошу удалить мои данные.", Erasure),
            ("ABCD-EFGH", Access),
        ] {
            assert!(!disputes(text, kind), "{text}");
        }
    }
}
