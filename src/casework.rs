//! Offline case work on decrypted case folders: signed actions (status,
//! reply, delete) appended to an actions file, and the table of cases with
//! their deadlines. Runs on the investigators' offline machine.
//!
//! Each action names the case's submissions as this folder holds them and
//! the action it follows: the case's last applied action as the last bundle
//! showed it, then the lines signed here since (`actions::order`). Lines the
//! server can never apply are set aside, never deleted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::actions::order::{self, Place};
use crate::actions::{self, ActionKind, Payload};
use crate::crypto::ed25519::{sha256_hex, SecretKey};
use crate::crypto::{self, Recipients};
use crate::decrypt::LAST_RUN_FILE;
use crate::export::IndexReport;
use crate::model::{ReplyText, Status, REPLY_FORMAT};

mod outgoing;
pub use outgoing::{append, applied_file, move_applied, stale_file, ACTIONS_FILE};
use outgoing::{move_lines, places};

/// Errors of offline case work.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The folder is not one written by `peluit decrypt`.
    #[error("{0}: not a decrypted case folder (run `peluit decrypt` first)")]
    NotCases(PathBuf),
    /// No such case.
    #[error("no case {0} in the case folder")]
    NoCase(String),
    /// The case's reply key was sealed to identities other than the one it was decrypted with.
    #[error("case {0}: its reply key did not open with the identity used to decrypt it; decrypt it with an identity it was sealed to")]
    NoReplyKey(String),
    /// An empty reply.
    #[error("the reply is empty")]
    EmptyReply,
    /// A case folder written before `case.json` listed every submission.
    #[error("case {0} was decrypted by an older peluit: decrypt a full export (`peluit pull --since 0`) again")]
    NoState(String),
    /// Sealing failed.
    #[error("sealing: {0}")]
    Crypto(#[from] crypto::CryptoError),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A folder of decrypted cases.
pub struct Casebook {
    /// The folder.
    dir: PathBuf,
    /// The deployment the cases came from.
    deployment_id: String,
    /// The pinned recipients (replies are sealed to them and the reporter only).
    recipients: Vec<String>,
    /// The outgoing actions file new lines go to.
    outgoing: PathBuf,
}

impl Casebook {
    /// Opens a folder written by `peluit decrypt`.
    pub fn open(dir: &Path) -> Result<Casebook, CaseError> {
        // The pin, never a bundle: replies go to the pinned recipients only.
        let pinned = crate::decrypt::pin::load(dir).ok().flatten();
        let d = pinned.ok_or_else(|| CaseError::NotCases(dir.to_path_buf()))?;
        let outgoing = dir.join(ACTIONS_FILE);
        Ok(Casebook { dir: dir.to_path_buf(), deployment_id: d.deployment_id, recipients: d.recipients, outgoing })
    }

    /// Signs into `file` rather than the folder's `actions.jsonl`.
    pub fn outgoing(self, file: &Path) -> Casebook {
        Casebook { outgoing: file.to_path_buf(), ..self }
    }

    /// The outgoing actions file new lines go to.
    pub fn outgoing_file(&self) -> &Path {
        &self.outgoing
    }

    /// Appends a signed `line` for case `id` to the outgoing file, after
    /// moving the lines the server would refuse for that case (see
    /// [`Casebook::set_aside_stale`]); returns how many moved. What every
    /// front end (`peluit case`, the desk) does once it has signed.
    pub fn record(&self, id: &str, line: &str) -> Result<usize, CaseError> {
        let stale = self.set_aside_stale(id)?;
        append(&self.outgoing, line)?;
        Ok(stale)
    }

    /// A case's metadata (`ID/case.json`).
    pub fn case(&self, id: &str) -> Result<IndexReport, CaseError> {
        if crypto::unhex::<16>(id).is_none() {
            return Err(CaseError::NoCase(id.to_string()));
        }
        let raw = fs::read(self.dir.join(id).join("case.json")).map_err(|_| CaseError::NoCase(id.to_string()))?;
        serde_json::from_slice(&raw).map_err(|_| CaseError::NoCase(id.to_string()))
    }

    /// Every case, in folder order.
    pub fn cases(&self) -> Result<Vec<IndexReport>, CaseError> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let p = e?.path().join("case.json");
            if let Ok(raw) = fs::read(&p) {
                if let Ok(r) = serde_json::from_slice(&raw) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// Seals a text for the reporter of `case` and for every investigator.
    fn seal_for_reporter(&self, case: &IndexReport, text: &str) -> Result<Vec<u8>, CaseError> {
        if case.reply_recipient.is_empty() {
            return Err(CaseError::NoReplyKey(case.id.clone()));
        }
        let mut lines = self.recipients.clone();
        lines.push(case.reply_recipient.clone());
        let recipients = Recipients::parse(&lines.join("\n"))?;
        let reply = ReplyText { format: REPLY_FORMAT.into(), text: text.to_string() };
        Ok(crypto::sealed_json::seal(&recipients, &reply)?)
    }

    /// A signed status change, with an optional note for the reporter.
    pub fn status(
        &self,
        key: &SecretKey,
        id: &str,
        status: Status,
        note: Option<&str>,
        now: u64,
    ) -> Result<String, CaseError> {
        let case = self.case(id)?;
        let blob = match note.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => Some(self.seal_for_reporter(&case, n)?),
            None => None,
        };
        let kind = ActionKind::Status { status, note_sha256: blob.as_deref().map(sha256_hex) };
        Ok(actions::sign(key, &self.payload(&case, now, kind)?, blob.as_deref()))
    }

    /// A signed reply.
    pub fn reply(&self, key: &SecretKey, id: &str, text: &str, now: u64) -> Result<String, CaseError> {
        if text.trim().is_empty() {
            return Err(CaseError::EmptyReply);
        }
        let case = self.case(id)?;
        let blob = self.seal_for_reporter(&case, text.trim_end())?;
        let kind = ActionKind::Reply { blob_sha256: sha256_hex(&blob) };
        Ok(actions::sign(key, &self.payload(&case, now, kind)?, Some(&blob)))
    }

    /// A signed delete.
    pub fn delete(&self, key: &SecretKey, id: &str, now: u64) -> Result<String, CaseError> {
        let case = self.case(id)?;
        Ok(actions::sign(key, &self.payload(&case, now, ActionKind::Delete)?, None))
    }

    /// A payload for this deployment with a fresh nonce, in its place.
    fn payload(&self, case: &IndexReport, now: u64, kind: ActionKind) -> Result<Payload, CaseError> {
        let (seen, walk) = self.place(case)?;
        Ok(Payload {
            v: actions::VERSION,
            deployment: self.deployment_id.clone(),
            nonce: crypto::hex(&crypto::random_id()),
            day: actions::day_of(now),
            report: case.id.clone(),
            seen,
            prev: walk.head,
            kind,
        })
    }

    /// The state this folder holds for `case`, and its chain: the case's
    /// head in the last bundle, then the lines applied since and the lines
    /// signed here and not yet applied, in this folder's actions files and
    /// in the outgoing one.
    fn place(&self, case: &IndexReport) -> Result<(String, order::Walk), CaseError> {
        if case.known.is_empty() {
            return Err(CaseError::NoState(case.id.clone()));
        }
        let seen = order::state_digest(case.known.iter().map(|(seq, m)| (*seq, m.as_str())));
        let mut pending = vec![self.dir.join(ACTIONS_FILE), self.outgoing.clone()];
        pending.dedup();
        let applied: Vec<PathBuf> = pending.iter().map(|p| applied_file(p)).collect();
        let (applied, pending) = (places(&applied)?, places(&pending)?);
        let walk = order::walk(&case.id, &case.head, &seen, &applied, &pending);
        Ok((seen, walk))
    }

    /// Moves the lines of the outgoing file for case `id` that the server
    /// can never apply (signed before what this folder now holds, after a
    /// line that was refused, or in an older format) into [`stale_file`], so
    /// that they cannot block the file. Returns how many moved.
    pub fn set_aside_stale(&self, id: &str) -> Result<usize, CaseError> {
        let (_, walk) = self.place(&self.case(id)?)?;
        let dead = |l: &str| Place::of(l).is_some_and(|p| walk.dead.contains(&p.id));
        Ok(move_lines(&self.outgoing, &stale_file(&self.outgoing), dead)?)
    }

    /// How many submissions of case `id` were set aside (its `quarantine/`).
    pub fn set_aside(&self, id: &str) -> usize {
        if crypto::unhex::<16>(id).is_none() {
            return 0;
        }
        crate::decrypt::set_aside_in(&self.dir.join(id))
    }

    /// Cases with something set aside but no `case.json`: their entry itself
    /// could not be read.
    pub fn unreadable(&self) -> Result<Vec<(String, usize)>, CaseError> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let e = e?;
            let id = e.file_name().to_string_lossy().into_owned();
            if !e.path().join("case.json").exists() && self.set_aside(&id) > 0 {
                out.push((id.clone(), self.set_aside(&id)));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Report ids that the last `decrypt` run added something to.
    pub fn new_in_last_run(&self) -> Vec<String> {
        fs::read(self.dir.join(LAST_RUN_FILE))
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .unwrap_or_default()
    }
}

/// One row of `peluit cases`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    /// Report id.
    pub id: String,
    /// Current status.
    pub status: Status,
    /// Day created.
    pub created: String,
    /// Days since creation.
    pub age_days: i64,
    /// Day the acknowledgement is due (7 days, EU 2019/1937 art. 9(1)(b)).
    pub ack_due: String,
    /// Whether an investigator acted (status beyond received) in time or at all.
    pub acknowledged: bool,
    /// Day feedback is due (3 months, art. 9(1)(f)).
    pub feedback_due: String,
    /// Whether feedback was given (a status beyond `verifying`).
    pub feedback_given: bool,
    /// True when a deadline has passed unmet.
    pub overdue: bool,
    /// True when the last decrypt run added a follow-up or the tip itself.
    pub new: bool,
    /// Submissions set aside because they could not be opened.
    pub set_aside: usize,
    /// The day the report was deleted on the server, if it was.
    pub deleted: Option<String>,
    /// Follow-ups not shown to come from the receipt holder.
    pub unverified: usize,
    /// Status changes no pinned investigator's signature proves.
    pub unsigned: usize,
}

/// Builds the table, overdue cases first, then the oldest. Pure: `today` is
/// passed in, and `set_aside` says how many submissions of a case were set
/// aside.
pub fn table(
    cases: &[IndexReport],
    new: &[String],
    set_aside: impl Fn(&str) -> usize,
    today: time::Date,
) -> Vec<CaseRow> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let mut rows: Vec<CaseRow> = cases
        .iter()
        .filter_map(|c| {
            let created = time::Date::parse(&c.created, &fmt).ok()?;
            let ack = created + time::Duration::days(7);
            let feedback = created + time::Duration::days(90);
            let acknowledged = c.timeline.iter().any(|e| e.status != Status::Received);
            let feedback_given = c.timeline.iter().any(|e| !matches!(e.status, Status::Received | Status::Verifying));
            // A closed case, or one deleted on the server, has no deadline left.
            let closed = c.status == Status::Closed || c.deleted.is_some();
            let overdue = !closed && ((!acknowledged && today > ack) || (!feedback_given && today > feedback));
            Some(CaseRow {
                id: c.id.clone(),
                status: c.status,
                created: c.created.clone(),
                age_days: (today - created).whole_days(),
                ack_due: ack.format(&fmt).ok()?,
                acknowledged,
                feedback_due: feedback.format(&fmt).ok()?,
                feedback_given,
                overdue,
                new: new.contains(&c.id),
                set_aside: set_aside(&c.id),
                deleted: c.deleted.clone(),
                unverified: c.unverified.len(),
                unsigned: c.unsigned.len(),
            })
        })
        .collect();
    // Overdue first, deleted last, the oldest first within each.
    rows.sort_by(|a, b| {
        b.overdue.cmp(&a.overdue).then(a.deleted.is_some().cmp(&b.deleted.is_some())).then(b.age_days.cmp(&a.age_days))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;

    fn case(id: &str, created: &str, statuses: &[Status]) -> IndexReport {
        IndexReport {
            id: id.into(),
            created: created.into(),
            status: *statuses.last().unwrap_or(&Status::Received),
            timeline: statuses
                .iter()
                .map(|s| Event { day: created.into(), status: *s, note: None, signed: Default::default() })
                .collect(),
            reply_recipient: String::new(),
            reply_sealed: String::new(),
            reply_key: String::new(),
            submissions: Vec::new(),
            messages: Vec::new(),
            deleted: None,
            head: String::new(),
            known: Vec::new(),
            unverified: Vec::new(),
            unsigned: Vec::new(),
        }
    }

    #[test]
    fn overdue_cases_come_first() {
        let today = time::macros::date!(2026 - 11 - 26);
        let cases = vec![
            case("a", "2026-11-25", &[Status::Received]),
            case("b", "2026-11-01", &[Status::Received]),
            case("c", "2026-07-01", &[Status::Received, Status::Verifying]),
            case("d", "2026-01-01", &[Status::Received, Status::Closed]),
        ];
        let rows = table(&cases, &["a".to_string()], |id| usize::from(id == "b"), today);
        let order: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(order, vec!["c", "b", "d", "a"]);
        assert!(rows[0].overdue && rows[0].acknowledged && !rows[0].feedback_given);
        assert!(rows[1].overdue && !rows[1].acknowledged && rows[1].set_aside == 1);
        assert_eq!(rows[1].ack_due, "2026-11-08");
        assert!(!rows[2].overdue, "closed cases are never overdue");
        assert!(rows[3].new && !rows[3].overdue);
    }
}
