//! Two readers, one decision: the rule reader's [`Understanding`] stands only where the
//! statistical reader agrees with it confidently; anything else goes to staff with the reason.
//!
//! | rule reader | statistical reader | outcome |
//! |---|---|---|
//! | machine mail (headers) | anything | unchanged: never answered |
//! | request K | K, p ≥ `agree` (`agree_mild` for rectification and marketing opt-out) | unchanged (the rules' own review reasons still hold); the review output at or above `review` adds a review |
//! | request K | K, p below that | review: "low confidence" |
//! | request K | another kind | review: "readers disagree: K vs J"; if J is machine mail at p ≥ `promote`, no reply either |
//! | not a request, the rules found nothing | request J, p ≥ `promote`, not bulk mail | request J, review, no automatic reply: "readers disagree", so a request the rules missed is not silently ignored |
//! | not a request for a stated reason (business mail, a how-to question, a negation, …) | anything | unchanged: a positive finding of the rules is not overruled by one reader |
//! | not a request | anything else | unchanged (ignored) |
//!
//! The gate never removes a review the rule reader asked for and never turns a "no reply" into
//! a reply, so it can only make the worker more careful.

use super::statistical::{Prediction, Thresholds};
use super::Understanding;
use crate::domain::MailKind;

/// What each reader said about one message, and what the gate made of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Readers {
    /// The rule reader's kind.
    pub rules: MailKind,
    /// Whether the rule reader alone would send the message to staff, and reply.
    pub rules_review: bool,
    pub rules_reply: bool,
    /// The statistical reader's kind and its probability.
    pub statistical: MailKind,
    pub probability: f32,
    /// The statistical reader's probability that staff should look.
    pub review_probability: f32,
    /// The rule reader saw no request for want of any finding, in mail without list headers: the
    /// case where the statistical reader may send it to staff.
    pub promotable: bool,
    pub outcome: Outcome,
}

impl Readers {
    /// Whether both readers named the same kind.
    pub fn agree(&self) -> bool {
        self.rules == self.statistical
    }
}

/// What the gate did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Machine mail found by its headers: the statistical reader is not consulted.
    Machine,
    /// Both readers name the same kind confidently (or both say "not a request").
    Agree,
    /// Same kind, but the statistical reader is not sure enough.
    LowConfidence,
    /// Different kinds; sent to staff when the rule reader saw a request.
    Disagree,
    /// The rule reader saw no request, the statistical reader a confident one: sent to staff.
    Promoted,
    /// Both agree, but the statistical reader's review output asks for staff.
    ReviewSignal,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Machine => "machine",
            Outcome::Agree => "agree",
            Outcome::LowConfidence => "low_confidence",
            Outcome::Disagree => "disagree",
            Outcome::Promoted => "promoted",
            Outcome::ReviewSignal => "review_signal",
        }
    }
}

/// The rule reader's reasons when it found no request at all (as opposed to finding that the
/// mail is business, a question, a negation…): only then may the statistical reader promote it.
const NO_FINDING: &[&str] = &[
    "no data-subject request found",
    "only a passing mention of a request word",
];

/// Whether the rule reader said "not a request" for want of any finding.
fn found_nothing(u: &Understanding) -> bool {
    u.reasons.iter().any(|r| NO_FINDING.contains(&r.as_str()))
}

fn name(k: MailKind) -> String {
    k.as_str().replace('_', " ")
}

/// Combines the rule reader's understanding with the statistical reader's prediction.
/// `bulk`: the message carries mailing-list headers (never promoted to a request).
pub fn combine(
    mut u: Understanding,
    p: &Prediction,
    t: &Thresholds,
    bulk: bool,
) -> (Understanding, Readers) {
    let rules = u.kind;
    let rules_review = u.review;
    let rules_reply = u.reply;
    let promotable = rules == MailKind::NotARequest && !bulk && found_nothing(&u);
    let needed = match rules {
        MailKind::Request(k) if !k.is_sensitive() => t.agree_mild,
        _ => t.agree,
    };
    let outcome = match rules {
        MailKind::AutoReply | MailKind::Bounce => Outcome::Machine,
        MailKind::Request(_) if p.kind == rules && p.probability >= needed => {
            if p.review >= t.review && !u.review {
                u.review = true;
                u.reasons.push(format!(
                    "the statistical reader sees a case for staff (review {:.2})",
                    p.review
                ));
                Outcome::ReviewSignal
            } else {
                Outcome::Agree
            }
        }
        MailKind::Request(_) if p.kind == rules => {
            u.review = true;
            u.reasons.push(format!(
                "low confidence: the statistical reader gives {} only {:.2} (needs {:.2})",
                name(rules),
                p.probability,
                needed
            ));
            Outcome::LowConfidence
        }
        MailKind::Request(_) => {
            u.review = true;
            u.reasons.push(format!(
                "readers disagree: {} vs {} ({:.2})",
                name(rules),
                name(p.kind),
                p.probability
            ));
            if p.kind.is_automatic() && p.probability >= t.promote {
                u.reply = false;
                u.reasons
                    .push("the statistical reader reads machine mail: no automatic reply".into());
            }
            Outcome::Disagree
        }
        MailKind::NotARequest => match p.kind.request() {
            Some(j) if p.probability >= t.promote && promotable => {
                u.kind = MailKind::Request(j);
                u.review = true;
                u.reply = false;
                u.reasons.push(format!(
                    "readers disagree: not a request vs {} ({:.2}); sent to staff rather than ignored",
                    name(p.kind),
                    p.probability
                ));
                Outcome::Promoted
            }
            Some(_) => Outcome::Disagree,
            None if p.kind == MailKind::NotARequest => Outcome::Agree,
            None => Outcome::Disagree,
        },
    };
    let readers = Readers {
        rules,
        rules_review,
        rules_reply,
        statistical: p.kind,
        probability: p.probability,
        review_probability: p.review,
        promotable,
        outcome,
    };
    (u, readers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Language, RequestKind};
    use crate::understand::statistical::KINDS;

    const T: Thresholds = Thresholds {
        agree: 0.8,
        agree_mild: 0.5,
        promote: 0.9,
        review: 0.7,
    };

    fn rules(kind: MailKind, review: bool, reply: bool) -> Understanding {
        Understanding {
            kind,
            also: vec![],
            review,
            reply,
            language: Language::Ru,
            iin: vec![],
            bin: vec![],
            phones: vec![],
            invalid_iin: vec![],
            reasons: vec![if kind == MailKind::NotARequest {
                "no data-subject request found".into()
            } else {
                "from the rules".into()
            }],
        }
    }

    fn said(kind: MailKind, probability: f32, review: f32) -> Prediction {
        let mut probabilities = [0f32; KINDS.len()];
        let i = KINDS.iter().position(|k| *k == kind).unwrap();
        probabilities[i] = probability;
        Prediction {
            kind,
            probability,
            review,
            probabilities,
        }
    }

    const ERASURE: MailKind = MailKind::Request(RequestKind::Erasure);
    const ACCESS: MailKind = MailKind::Request(RequestKind::Access);

    #[test]
    fn agreement_leaves_an_automatic_action_automatic() {
        let (u, r) = combine(
            rules(ERASURE, false, true),
            &said(ERASURE, 0.95, 0.1),
            &T,
            false,
        );
        assert_eq!((u.kind, u.review, u.reply), (ERASURE, false, true));
        assert_eq!(u.reasons, ["from the rules"]);
        assert_eq!(r.outcome, Outcome::Agree);
        assert!(r.agree());
    }

    #[test]
    fn disagreement_goes_to_staff_with_the_reason() {
        let (u, r) = combine(
            rules(ERASURE, false, true),
            &said(MailKind::NotARequest, 0.7, 0.1),
            &T,
            false,
        );
        assert_eq!(u.kind, ERASURE);
        assert!(u.review && u.reply);
        assert!(u
            .reasons
            .iter()
            .any(|r| r.starts_with("readers disagree: erasure vs not a request")));
        assert_eq!(r.outcome, Outcome::Disagree);
        assert!(!r.agree());

        let (u, _) = combine(
            rules(ERASURE, false, true),
            &said(ACCESS, 0.99, 0.1),
            &T,
            false,
        );
        assert!(u.review);
        assert!(u.reasons.iter().any(|r| r.contains("erasure vs access")));
    }

    #[test]
    fn mild_kinds_need_less_confidence() {
        let opt_out = MailKind::Request(RequestKind::MarketingOptOut);
        let (u, r) = combine(
            rules(opt_out, false, true),
            &said(opt_out, 0.6, 0.1),
            &T,
            false,
        );
        assert!(!u.review);
        assert_eq!(r.outcome, Outcome::Agree);
        let (u, _) = combine(
            rules(ERASURE, false, true),
            &said(ERASURE, 0.6, 0.1),
            &T,
            false,
        );
        assert!(u.review);
    }

    #[test]
    fn low_confidence_goes_to_staff() {
        let (u, r) = combine(
            rules(ERASURE, false, true),
            &said(ERASURE, 0.6, 0.1),
            &T,
            false,
        );
        assert!(u.review);
        assert!(u.reasons.iter().any(|r| r.starts_with("low confidence")));
        assert_eq!(r.outcome, Outcome::LowConfidence);
    }

    #[test]
    fn the_review_output_can_add_a_review_but_never_remove_one() {
        let (u, r) = combine(
            rules(ERASURE, false, true),
            &said(ERASURE, 0.95, 0.9),
            &T,
            false,
        );
        assert!(u.review);
        assert_eq!(r.outcome, Outcome::ReviewSignal);
        let (u, _) = combine(
            rules(ERASURE, true, true),
            &said(ERASURE, 0.99, 0.0),
            &T,
            false,
        );
        assert!(u.review, "a review the rules asked for stays");
    }

    #[test]
    fn a_confident_request_the_rules_missed_goes_to_staff_without_a_reply() {
        let (u, r) = combine(
            rules(MailKind::NotARequest, false, false),
            &said(ACCESS, 0.95, 0.2),
            &T,
            false,
        );
        assert_eq!(u.kind, ACCESS);
        assert!(u.review && !u.reply);
        assert!(u
            .reasons
            .iter()
            .any(|r| r.starts_with("readers disagree: not a request vs access")));
        assert_eq!(r.outcome, Outcome::Promoted);
        assert_eq!(r.rules, MailKind::NotARequest);

        // Below the promotion threshold, on mailing-list mail, or when the rules found a reason
        // (business mail, a how-to question), it stays ignored.
        let mut business = rules(MailKind::NotARequest, false, false);
        business.reasons = vec!["asks how to make a request, does not make one".into()];
        let (u, r) = combine(business, &said(ACCESS, 0.99, 0.2), &T, false);
        assert_eq!(u.kind, MailKind::NotARequest);
        assert_eq!(r.outcome, Outcome::Disagree);
        let (u, _) = combine(
            rules(MailKind::NotARequest, false, false),
            &said(ACCESS, 0.85, 0.2),
            &T,
            false,
        );
        assert_eq!(u.kind, MailKind::NotARequest);
        let (u, _) = combine(
            rules(MailKind::NotARequest, false, false),
            &said(ACCESS, 0.99, 0.2),
            &T,
            true,
        );
        assert_eq!(u.kind, MailKind::NotARequest);
    }

    #[test]
    fn machine_mail_is_never_answered() {
        for kind in [MailKind::AutoReply, MailKind::Bounce] {
            let (u, r) = combine(
                rules(kind, false, false),
                &said(ERASURE, 0.99, 0.0),
                &T,
                false,
            );
            assert_eq!(u.kind, kind);
            assert!(!u.reply && !u.review);
            assert_eq!(r.outcome, Outcome::Machine);
        }
        // A request the statistical reader confidently reads as machine mail: staff, no reply.
        let (u, _) = combine(
            rules(ERASURE, false, true),
            &said(MailKind::AutoReply, 0.95, 0.0),
            &T,
            false,
        );
        assert!(u.review && !u.reply);
    }
}
