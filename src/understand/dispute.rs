//! Does a reply to one of our e-mails dispute the request it answers?
//!
//! A person who receives our confirmation mail for a request they never made answers the way
//! people do: "Это не я писал! Ничего не удаляйте.", "it wasn't me, don't delete anything",
//! "мен жазған жоқпын". Such a reply must cancel the request even when it quotes our mail (and
//! so the code). The reading uses the same clause-level cue vocabulary and negation handling as
//! the classifier ([`Analysis`]); it is given only the sender's own new words (quotes removed).
//!
//! A reply disputes when it says the request was not the sender's (`dispute` cues: "это не я",
//! "I never asked", "мен жібермедім"), asks to do nothing or to cancel (`cancel` cues: "ничего
//! не делайте", "cancel this request", "өтінішті тоқтатыңыз"), or negates the request's verb
//! ("не удаляйте", "don't withdraw", жой-ма-ңыз, also a destructive verb other than the
//! request's). Consent in negative words ("не против", "no objection", "қарсы емеспін") is a
//! confirmation, and a negation reaches only its own clause ("Не сомневайтесь, удаляйте"). The
//! cues are in the vocabulary files (`vocabulary/*.txt`), so staff can add a wording.

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
    fn disputes_in_three_languages_and_scripts() {
        let mut missed = Vec::new();
        for (text, kind) in [
            // ru
            ("Это не я писал! Ничего не удаляйте.", Erasure),
            (
                "Я ничего не отправляла, это не мой запрос.",
                WithdrawConsent,
            ),
            ("Не удаляйте мои данные!", Erasure),
            ("Не надо ничего удалять, я такого не просил.", Erasure),
            ("Кто-то написал от моего имени. Отмените запрос.", Erasure),
            ("Впервые слышу об этом обращении", Access),
            ("Отмените, пожалуйста.", Restriction),
            ("Eto ne ya pisal, nichego ne udalyaite", Erasure),
            (
                "Не отзывайте моё согласие, я ничего не писал",
                WithdrawConsent,
            ),
            // en
            ("It wasn't me. Please do not delete anything.", Erasure),
            ("I never asked for this", Access),
            (
                "Please don't withdraw anything, I did not write to you.",
                WithdrawConsent,
            ),
            (
                "This was not me, someone else sent it. Do not proceed.",
                Erasure,
            ),
            ("i didnt send this, dont block my account", Restriction),
            ("Cancel this request please", Erasure),
            // kk, Cyrillic, Latin, without Kazakh letters
            ("Мен жазған жоқпын, ештеңе жоймаңыз.", Erasure),
            ("Бұл мен емес.", Restriction),
            ("Деректерімді жоймаңыздар!", Erasure),
            ("Men jazğan joqpyn, eşteñe joimañyz.", Erasure),
            ("Мен жазган жокпын, ештене жоймаңыз", Erasure),
            (
                "Мен ондай өтініш жібермедім. Өтінішті тоқтатыңыз.",
                WithdrawConsent,
            ),
            (
                "Келісімімді кері қайтармаймын, мен сұраған жоқпын.",
                WithdrawConsent,
            ),
            ("Бұғаттамаңыз, бұл қате.", Restriction),
        ] {
            if !disputes(text, kind) {
                missed.push(text);
            }
        }
        assert!(missed.is_empty(), "not read as disputes: {missed:#?}");
    }

    #[test]
    fn confirmations_and_plain_answers_are_not_disputes() {
        let mut missed = Vec::new();
        for (text, kind) in [
            ("Да, это я. Код ABCD-EFGH. Удаляйте.", Erasure),
            ("Да, это я, удаляйте", Erasure),
            ("Подтверждаю, прошу удалить мои данные.", Erasure),
            ("Это я писал, всё верно.", WithdrawConsent),
            ("Ничего не имею против, удаляйте.", Erasure),
            ("Я не против удаления аккаунта.", Erasure),
            ("Не сомневайтесь, удаляйте всё.", Erasure),
            ("Да, отзываю.", WithdrawConsent),
            ("Yes, it was me, go ahead: ABCD-EFGH", Erasure),
            ("yes it was me, go ahead", Erasure),
            ("No problem, delete everything.", Erasure),
            ("I confirm. Nothing else to add.", Access),
            ("Иә, мен жаздым. ABCD-EFGH", WithdrawConsent),
            ("Иә, мен жібердім. Жойыңыз.", Erasure),
            ("Ia, men jazdym, raqmet", Erasure),
            ("Растаймын, қарсы емеспін.", Restriction),
            ("ABCD-EFGH", Access),
            ("", Erasure),
        ] {
            if disputes(text, kind) {
                missed.push(text);
            }
        }
        assert!(missed.is_empty(), "read as disputes: {missed:#?}");
    }
}
