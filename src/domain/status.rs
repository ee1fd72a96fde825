//! The request lifecycle as a type: every status a request can be in and which changes are
//! allowed. The one function through which every status change goes is
//! [`crate::request::lifecycle::transition`].
//!
//! ```text
//!                 ┌──────────────────────────── staff: reject / close (any non-final) ───────┐
//! received ─ack─▶ accepted ──(identity? subject?)──▶ awaiting_confirmation ─code─▶ confirmed  │
//!    │              │  │                                  │  (expires) ─▶ closed    │         │
//!    ▼              │  └─▶ awaiting_information ◀─(staff asks)─ needs_review ◀──────┤         │
//! needs_review ◀────┘        (unknown subject;        ▲   │ (staff approves)        │         │
//!                             reply with details)     │   ▼                         ▼         ▼
//!  disputed ◀── "it wasn't me" (before execution)     └─ approved ──────────▶ executing ─▶ completed
//!  failed   ◀── a deterministic failure after bounded attempts (staff: retry)           rejected
//!                                                                                        closed
//! ```
//!
//! The database holds the same list in a CHECK constraint (migrations/0006_lifecycle.sql), so a
//! status that is not in this enum cannot be written by anything.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Stored from triage; not yet acknowledged.
    Received,
    /// Acknowledged; the worker carries it on by itself.
    Accepted,
    /// Staff must decide before anything is done.
    NeedsReview,
    /// We asked for something (details to find the subject, or staff's question) and wait.
    AwaitingInformation,
    /// A one-time code went out (to the sender, or to the address on file) and we wait for it.
    AwaitingConfirmation,
    /// The code came back from the right address in time.
    Confirmed,
    /// Staff approved it (as a kind, perhaps overriding checks explicitly).
    Approved,
    /// Store tasks are running.
    Executing,
    /// The person said they never made it: nothing is done; staff are told.
    Disputed,
    /// Processing failed for good after bounded attempts; the reason is kept for staff.
    Failed,
    /// Done (final).
    Completed,
    /// Refused by staff, with a reason sent to the subject (final).
    Rejected,
    /// Ended without action: expired unanswered, closed by staff (final).
    Closed,
}

use RequestStatus::*;

impl RequestStatus {
    pub const ALL: [RequestStatus; 13] = [
        Received,
        Accepted,
        NeedsReview,
        AwaitingInformation,
        AwaitingConfirmation,
        Confirmed,
        Approved,
        Executing,
        Disputed,
        Failed,
        Completed,
        Rejected,
        Closed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Received => "received",
            Accepted => "accepted",
            NeedsReview => "needs_review",
            AwaitingInformation => "awaiting_information",
            AwaitingConfirmation => "awaiting_confirmation",
            Confirmed => "confirmed",
            Approved => "approved",
            Executing => "executing",
            Disputed => "disputed",
            Failed => "failed",
            Completed => "completed",
            Rejected => "rejected",
            Closed => "closed",
        }
    }

    /// Nothing more happens to a request in a final status.
    pub fn is_final(self) -> bool {
        matches!(self, Completed | Rejected | Closed)
    }

    /// The processor continues a request in these statuses.
    pub fn is_actionable(self) -> bool {
        matches!(self, Accepted | Confirmed | Approved)
    }

    /// A staff member has to look at it (the console's default queue).
    pub fn awaits_staff(self) -> bool {
        matches!(self, NeedsReview | Disputed | Failed)
    }

    /// Before any store was touched: a dispute still cancels everything.
    pub fn before_execution(self) -> bool {
        !self.is_final() && !matches!(self, Executing)
    }

    /// Whether a request may go from `self` to `to`.
    pub fn can_become(self, to: RequestStatus) -> bool {
        if self.is_final() || self == to {
            return false;
        }
        // Staff may end any request that is not final; a person may dispute it until a store
        // has been touched.
        if matches!(to, Rejected | Closed) {
            return true;
        }
        if to == Disputed {
            return self.before_execution() && self != Failed;
        }
        match self {
            Received => matches!(to, Accepted | NeedsReview | Failed),
            Accepted | Confirmed | Approved => matches!(
                to,
                AwaitingConfirmation
                    | AwaitingInformation
                    | NeedsReview
                    | Executing
                    | Completed
                    | Failed
            ),
            NeedsReview => matches!(to, Approved | AwaitingInformation | Failed),
            AwaitingInformation => matches!(to, Accepted | NeedsReview),
            AwaitingConfirmation => matches!(to, Confirmed | NeedsReview),
            Executing => matches!(to, Completed | Failed),
            Disputed => false,
            // Staff replay: back to where the worker can pick it up again.
            Failed => matches!(to, Received | Accepted | Approved | NeedsReview),
            Completed | Rejected | Closed => false,
        }
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown request status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for RequestStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

crate::domain::text_column!(RequestStatus);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_round_trip_and_are_unique() {
        for s in RequestStatus::ALL {
            assert_eq!(s.as_str().parse::<RequestStatus>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        assert!("done".parse::<RequestStatus>().is_err());
    }

    #[test]
    fn final_statuses_go_nowhere() {
        for from in [Completed, Rejected, Closed] {
            for to in RequestStatus::ALL {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn staff_can_end_every_open_request() {
        for from in RequestStatus::ALL.into_iter().filter(|s| !s.is_final()) {
            assert!(from.can_become(Rejected), "{from}");
            assert!(from.can_become(Closed), "{from}");
        }
    }

    #[test]
    fn a_dispute_cancels_only_before_execution() {
        assert!(AwaitingConfirmation.can_become(Disputed));
        assert!(NeedsReview.can_become(Disputed));
        assert!(Approved.can_become(Disputed));
        assert!(!Executing.can_become(Disputed));
        assert!(!Completed.can_become(Disputed));
        // A disputed request is never carried on: only staff end it.
        for to in RequestStatus::ALL {
            assert_eq!(
                Disputed.can_become(to),
                matches!(to, Rejected | Closed),
                "{to}"
            );
        }
    }

    #[test]
    fn the_pipeline_paths_are_allowed() {
        for (from, to) in [
            (Received, Accepted),
            (Received, NeedsReview),
            (Accepted, AwaitingConfirmation),
            (AwaitingConfirmation, Confirmed),
            (Confirmed, Executing),
            (Executing, Completed),
            (Accepted, Completed),
            (NeedsReview, Approved),
            (Approved, NeedsReview),
            (Accepted, AwaitingInformation),
            (AwaitingInformation, Accepted),
            (Failed, Accepted),
        ] {
            assert!(from.can_become(to), "{from} -> {to}");
        }
        // No shortcut around identity or staff.
        for (from, to) in [
            (Received, Executing),
            (AwaitingConfirmation, Executing),
            (NeedsReview, Executing),
            (AwaitingInformation, Executing),
            (Received, Approved),
            (AwaitingConfirmation, Approved),
        ] {
            assert!(!from.can_become(to), "{from} -> {to}");
        }
    }
}
