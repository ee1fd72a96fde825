//! The key under which an outbox row is written at most once, and the Message-ID of an e-mail,
//! both derived from one typed value. A redelivered queue message, a restarted worker or a
//! second worker that decides the same thing again writes the same key, and the outbox's
//! unique index keeps the first row; the e-mail keeps the same Message-ID on every attempt.
//!
//! ```text
//! Reply::Confirm { round: 2 } of request 12  →  key  confirm:12:2
//!                                           →  Message-ID  dsr-2026-000012.confirm-12-2@nlg.kz
//! Work::Task { task_id: 7 }                  →  key  publish:task:7
//! ```

use std::fmt;

/// What an automatic e-mail about a request is for (one e-mail per purpose and round).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The acknowledgement (carries the code when one is issued with it).
    Ack,
    /// A short threaded answer to a repeat of an open request (`inbound`: the repeat).
    Folded { inbound: i64 },
    /// A request that waits on a retention duty (art. 8(2)): said to the verified address.
    Obligation,
    /// Nobody found: the request for details, per lookup round.
    Unknown { round: i64 },
    /// The sender is told the confirmation went to the contact on file, per round.
    OnFile { round: i64 },
    /// The code to the contact on file, per round.
    Contact { round: i64 },
    /// A code issued after the acknowledgement, per round.
    Confirm { round: i64 },
    /// The access report.
    Access,
    /// The request expired unanswered.
    Expired,
    /// The completion receipt.
    Complete,
    /// "It wasn't me": the request is stopped.
    Disputed,
    /// Staff rejected the request.
    Reject,
    /// Staff asked for more information (`entry`: the audit entry of the question).
    Info { entry: i64 },
}

/// Why a request goes on the `requests` queue again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Again {
    /// A code was confirmed (`code`: the verification row).
    Confirmed { code: i64 },
    /// The sender sent the details asked for (`inbound`: their message).
    Information { inbound: i64 },
    /// A repeat was folded into the request (`inbound`: the repeat).
    Folded { inbound: i64 },
    /// Staff approved (`entry`: the audit entry).
    Approved { entry: i64 },
    /// Staff asked for a retry (`entry`: the audit entry).
    Retry { entry: i64 },
    /// Staff linked the request to a subject (`entry`: the audit entry).
    Link { entry: i64 },
}

/// Work published to a queue through the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// A new request, first time on the `requests` queue.
    Request { request_id: i64 },
    /// A request that goes on again, once per cause.
    RequestAgain { request_id: i64, again: Again },
    /// A store task, first time on the `store-actions` queue.
    Task { task_id: i64 },
    /// A store task replayed after `attempts` attempts.
    TaskReplay { task_id: i64, attempts: i32 },
}

/// An outbox dedupe key about a request, built only from a [`Reply`] or a [`Work`]. (Staff
/// digests and alerts, about no single request, key their mail by day and recipient.)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupeKey(String);

impl DedupeKey {
    /// The key of an automatic e-mail about request `request_id`.
    pub fn reply(request_id: i64, reply: Reply) -> Self {
        use Reply::*;
        let key = match reply {
            Ack => format!("ack:{request_id}"),
            Folded { inbound } => format!("fold:{request_id}:{inbound}"),
            Obligation => format!("obligation:{request_id}"),
            Unknown { round } => format!("unknown:{request_id}:{round}"),
            OnFile { round } => format!("onfile:{request_id}:{round}"),
            Contact { round } => format!("contact:{request_id}:{round}"),
            Confirm { round } => format!("confirm:{request_id}:{round}"),
            Access => format!("access:{request_id}"),
            Expired => format!("expired:{request_id}"),
            Complete => format!("complete:{request_id}"),
            Disputed => format!("disputed:{request_id}"),
            Reject => format!("reject:{request_id}"),
            Info { entry } => format!("info:{request_id}:{entry}"),
        };
        Self(key)
    }

    /// The key of a queue publish.
    pub fn work(work: Work) -> Self {
        let key = match work {
            Work::Request { request_id } => format!("publish:request:{request_id}"),
            Work::RequestAgain { request_id, again } => match again {
                Again::Confirmed { code } => {
                    format!("publish:request:{request_id}:confirmed:{code}")
                }
                Again::Information { inbound } => {
                    format!("publish:request:{request_id}:information:{inbound}")
                }
                Again::Folded { inbound } => {
                    format!("publish:request:{request_id}:folded:{inbound}")
                }
                Again::Approved { entry } => format!("publish:approve:{request_id}:{entry}"),
                Again::Retry { entry } => format!("publish:retry:{request_id}:{entry}"),
                Again::Link { entry } => format!("publish:link:{request_id}:{entry}"),
            },
            Work::Task { task_id } => format!("publish:task:{task_id}"),
            Work::TaskReplay { task_id, attempts } => {
                format!("publish:task:{task_id}:replay:{attempts}")
            }
        };
        Self(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The purpose part of the Message-ID of the e-mail written under this key
    /// (`confirm:12:2` → `confirm-12-2`): distinct e-mails never share a Message-ID.
    pub fn message_id_part(&self) -> String {
        self.0.replace([':', '_'], "-")
    }
}

impl fmt::Display for DedupeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_and_round_has_its_own_key_and_message_id() {
        let keys = [
            DedupeKey::reply(12, Reply::Ack),
            DedupeKey::reply(12, Reply::Confirm { round: 1 }),
            DedupeKey::reply(12, Reply::Confirm { round: 2 }),
            DedupeKey::reply(12, Reply::Contact { round: 1 }),
            DedupeKey::reply(12, Reply::OnFile { round: 1 }),
            DedupeKey::reply(12, Reply::Folded { inbound: 5 }),
            DedupeKey::reply(13, Reply::Ack),
            DedupeKey::work(Work::Request { request_id: 12 }),
            DedupeKey::work(Work::RequestAgain {
                request_id: 12,
                again: Again::Folded { inbound: 5 },
            }),
            DedupeKey::work(Work::Task { task_id: 12 }),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
                assert_ne!(a.message_id_part(), b.message_id_part());
            }
        }
        assert_eq!(keys[2].as_str(), "confirm:12:2");
        assert_eq!(keys[2].message_id_part(), "confirm-12-2");
        assert_eq!(keys[7].as_str(), "publish:request:12");
    }
}
