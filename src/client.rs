//! The investigators' networked client: `push` actions and `pull` bundles,
//! authenticated with the transfer key, directly or through a SOCKS5 proxy
//! (`socks5h://127.0.0.1:9050` lets Tor resolve `.onion` names).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use crate::crypto::{self, ed25519::SecretKey};
use crate::transfer;

/// Errors of the client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The HTTP exchange failed.
    #[error("cannot reach the server: {0}")]
    Http(#[from] reqwest::Error),
    /// The server refused the request.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The bundle ended early.
    #[error("the bundle is incomplete; nothing was kept")]
    Truncated,
    /// Writing the bundle failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// `--server` is not an http(s) URL.
    #[error(transparent)]
    Url(#[from] BadServerUrl),
}

/// A refusal: the HTTP status and the server's message.
#[derive(Debug, thiserror::Error)]
#[error("the server refused ({0}): {1}")]
pub struct Refused(pub u16, pub String);

/// The body of an answer with status `ok`, as `T`; any other status is the
/// server's refusal. Shared by the investigators' and the reporters' clients.
pub fn answer<T, E>(r: reqwest::blocking::Response, ok: u16) -> Result<T, E>
where
    T: serde::de::DeserializeOwned,
    E: From<reqwest::Error> + From<Refused>,
{
    if r.status().as_u16() == ok {
        return Ok(r.json::<T>()?);
    }
    Err(refused(r).into())
}

/// The server's refusal, read from its answer ([`crate::api::Problem`]).
pub fn refused(r: reqwest::blocking::Response) -> Refused {
    let status = r.status().as_u16();
    let problem: crate::api::Problem = r.json().unwrap_or_default();
    Refused(status, problem.message)
}

/// A `--server` that is not an `http://` or `https://` URL (a missing scheme
/// would otherwise surface as reqwest's "relative URL without a base").
#[derive(Debug, thiserror::Error)]
#[error("--server {0:?} must start with http:// or https://, e.g. http://ADDRESS.onion")]
pub struct BadServerUrl(pub String);

/// The server's base URL without a trailing slash; refuses anything that is
/// not an absolute http(s) URL. Shared by the investigators' and the
/// reporters' clients.
pub fn server_base(server: &str) -> Result<String, BadServerUrl> {
    let base = server.trim().trim_end_matches('/');
    match reqwest::Url::parse(base) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(base.to_string()),
        _ => Err(BadServerUrl(server.to_string())),
    }
}

/// A peluit server seen from an investigator's machine.
pub struct Remote {
    /// `http://host:port` or an onion URL, without a trailing slash.
    base: String,
    /// The HTTP client (no cookies, no redirects).
    http: reqwest::blocking::Client,
}

/// The HTTP client both networked commands use: no cookies, no redirects, a
/// generic user agent, and every request through `proxy` when one is given
/// (`socks5h://` leaves name resolution to the proxy, as `.onion` needs).
pub fn http_client(proxy: Option<&str>) -> reqwest::Result<reqwest::blocking::Client> {
    let mut b = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(3600))
        .user_agent("peluit");
    if let Some(p) = proxy {
        b = b.proxy(reqwest::Proxy::all(p)?);
    }
    b.build()
}

impl Remote {
    /// A client for `server`, through `proxy` when given.
    pub fn new(server: &str, proxy: Option<&str>) -> Result<Remote, ClientError> {
        Ok(Remote { base: server_base(server)?, http: http_client(proxy)? })
    }

    /// A fresh authorization header for a request.
    fn auth(&self, key: &SecretKey, method: &str, path: &str, body: &[u8], now: u64) -> String {
        transfer::header(key, method, path, body, now, &crypto::hex(&crypto::random_id()))
    }

    /// Sends an actions file; returns what the server applied.
    pub fn push(&self, key: &SecretKey, body: Vec<u8>, now: u64) -> Result<crate::api::Applied, ClientError> {
        let path = "/api/v1/actions";
        let auth = self.auth(key, "POST", path, &body, now);
        let r = self.http.post(format!("{}{path}", self.base)).header("authorization", auth).body(body).send()?;
        answer(r, 200)
    }

    /// Downloads a bundle of everything after `since` into `out` (which must
    /// not exist); a bundle that ends early is removed.
    pub fn pull(&self, key: &SecretKey, since: u64, now: u64, out: &Path) -> Result<u64, ClientError> {
        let path = format!("/api/v1/export?since={since}");
        let auth = self.auth(key, "GET", &path, b"", now);
        let mut r = self.http.get(format!("{}{path}", self.base)).header("authorization", auth).send()?;
        if r.status().as_u16() != 200 {
            return Err(refused(r).into());
        }
        let mut f = OpenOptions::new().write(true).read(true).create_new(true).mode(0o600).open(out)?;
        let copied = io::copy(&mut r, &mut f);
        let complete = copied.is_ok() && ends_like_tar(&mut f)?;
        if !complete {
            drop(f);
            let _ = fs::remove_file(out);
            return Err(ClientError::Truncated);
        }
        f.sync_all()?;
        Ok(copied.unwrap_or(0))
    }
}

/// A complete tar ends with two zero blocks.
fn ends_like_tar(f: &mut File) -> io::Result<bool> {
    let len = f.seek(SeekFrom::End(0))?;
    if len < 1024 || len % 512 != 0 {
        return Ok(false);
    }
    f.seek(SeekFrom::End(-1024))?;
    let mut tail = [0u8; 1024];
    f.read_exact(&mut tail)?;
    f.flush()?;
    Ok(tail.iter().all(|b| *b == 0))
}
