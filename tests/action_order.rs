//! Signed actions apply in the order they were signed and only on the report
//! as the signer saw it: a line pushed out of order, or signed before new
//! information arrived, is refused and changes nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::team::{add_investigator, decrypt, pull, push, register_first, tip};
use common::{api_status, client, ok, run_with_stdin, Env, Server};
use reqwest::blocking::multipart::Form;

/// Two investigators with the same first bundle decrypted, and one tip.
struct Team {
    env: Env,
    s: Server,
    ani: PathBuf,
    budi: PathBuf,
    id: String,
    receipt: String,
    cursor: String,
}

impl Team {
    fn new() -> Team {
        let env = Env::new();
        let ani = register_first(&env);
        let budi = add_investigator(&env, "budi");
        let s = Server::start(&env, &[]);
        let receipt = tip(&s, "pungli di loket");
        let b1 = env.path("b1.tar");
        let cursor = pull(&s, &ani.join("transfer.key"), &b1, "0");
        decrypt(&b1, &ani.join("identity.txt"), &env.path("cases-ani"));
        decrypt(&b1, &budi.join("identity.txt"), &env.path("cases-budi"));
        let id = fs::read_dir(env.path("cases-ani")).unwrap().flatten().find(|e| e.path().is_dir()).unwrap();
        let id = id.file_name().to_str().unwrap().to_string();
        Team { env, s, ani, budi, id, receipt, cursor }
    }

    /// The case folder of `who` ("ani" or "budi").
    fn cases(&self, who: &str) -> PathBuf {
        self.env.path(&format!("cases-{who}"))
    }

    fn dir(&self, who: &str) -> &Path {
        if who == "ani" {
            &self.ani
        } else {
            &self.budi
        }
    }

    /// `who` signs a status for the case; returns what `peluit case` printed.
    fn sign(&self, who: &str, status: &str) -> String {
        let (cases, key) = (self.cases(who), self.dir(who).join("signing.key"));
        let args = ["case", "--cases", cases.to_str().unwrap(), "--key", key.to_str().unwrap(), "status"];
        ok(&run_with_stdin(&[&args[..], &[&self.id, status]].concat(), ""))
    }

    /// `who` pushes a file.
    fn push(&self, who: &str, file: &Path) -> std::process::Output {
        push(&self.s, &self.dir(who).join("transfer.key"), file)
    }

    /// `who` pushes a file that must be refused; returns the error.
    fn refused(&self, who: &str, file: &Path) -> String {
        let o = self.push(who, file);
        assert!(!o.status.success(), "{} was accepted", file.display());
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    /// `who` pulls what is new and decrypts it into their case folder.
    fn pull_again(&self, who: &str) {
        let b = self.env.path(&format!("{who}-again.tar"));
        pull(&self.s, &self.dir(who).join("transfer.key"), &b, &self.cursor);
        decrypt(&b, &self.dir(who).join("identity.txt"), &self.cases(who));
    }

    /// The status the reporter sees.
    fn status(&self) -> String {
        api_status(&self.s, &self.receipt).1["status"].as_str().unwrap().to_string()
    }

    /// A file holding `lines`.
    fn file(&self, name: &str, lines: &[&str]) -> PathBuf {
        let f = self.env.path(name);
        fs::write(&f, lines.join("\n") + "\n").unwrap();
        f
    }
}

#[test]
fn lines_pushed_in_reverse_are_refused_and_in_order_apply_once() {
    let t = Team::new();
    t.sign("ani", "closed");
    t.sign("ani", "investigating");
    let outgoing = t.cases("ani").join("actions.jsonl");
    let text = fs::read_to_string(&outgoing).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    // The second line alone, then both in reverse: refused, nothing changes.
    let err = t.refused("ani", &t.file("second.jsonl", &[lines[1]]));
    assert!(err.contains("line 1: out of order"), "{err}");
    let err = t.refused("ani", &t.file("reverse.jsonl", &[lines[1], lines[0]]));
    assert!(err.contains("line 1: out of order"), "{err}");
    assert_eq!(t.status(), "received");
    // In the order signed, in one file: both apply, the last one wins.
    let out = ok(&t.push("ani", &outgoing));
    assert!(out.contains("Applied 2 action(s)"), "{out}");
    assert_eq!(t.status(), "investigating");
    // Pushing them again is a no-op that says so, in either order.
    let again = ok(&t.push("ani", &t.env.path("reverse.jsonl")));
    assert!(again.contains("Applied 0 action(s) (2 applied before, skipped)"), "{again}");
    assert_eq!(t.status(), "investigating");
}

#[test]
fn a_line_signed_before_a_follow_up_arrived_is_refused_until_pulled_again() {
    let t = Team::new();
    t.sign("ani", "closed");
    let form = Form::new().text("receipt", t.receipt.clone()).text("text", "Ada bukti baru: kuitansi kedua.");
    let page = client().post(t.s.url("/status/add")).multipart(form).send().unwrap().text().unwrap();
    assert!(page.contains("Informasi tambahan Anda sudah diterima"), "{page}");
    let outgoing = t.cases("ani").join("actions.jsonl");
    let err = t.refused("ani", &outgoing);
    assert!(err.contains("line 1: new information arrived") && err.contains("pull again"), "{err}");
    assert_eq!(t.status(), "received");
    // Pulled and read, the decision is signed again; the stale line is set
    // aside so that it cannot block the file.
    t.pull_again("ani");
    let signed = t.sign("ani", "investigating");
    assert!(signed.contains("Set aside 1 line(s)"), "{signed}");
    let out = ok(&t.push("ani", &outgoing));
    assert!(out.contains("Applied 1 action(s)"), "{out}");
    assert_eq!(t.status(), "investigating");
}

#[test]
fn colleagues_act_in_turn_each_on_what_the_other_did() {
    let t = Team::new();
    t.sign("ani", "investigating");
    ok(&t.push("ani", &t.cases("ani").join("actions.jsonl")));
    // Budi has not seen Ani's action: his line is refused.
    t.sign("budi", "closed");
    let budi_out = t.cases("budi").join("actions.jsonl");
    let err = t.refused("budi", &budi_out);
    assert!(err.contains("line 1: out of order"), "{err}");
    assert_eq!(t.status(), "investigating");
    // Once he has pulled it, his decision follows hers.
    t.pull_again("budi");
    t.sign("budi", "reviewing");
    let out = ok(&t.push("budi", &budi_out));
    assert!(out.contains("Applied 1 action(s)"), "{out}");
    assert_eq!(t.status(), "reviewing");
    // Ani's next line, signed without pulling Budi's, is refused in turn;
    // after pulling it applies.
    t.sign("ani", "closed");
    let err = t.refused("ani", &t.cases("ani").join("actions.jsonl"));
    assert!(err.contains("out of order"), "{err}");
    t.pull_again("ani");
    t.sign("ani", "closed");
    ok(&t.push("ani", &t.cases("ani").join("actions.jsonl")));
    assert_eq!(t.status(), "closed");
}
