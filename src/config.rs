//! The operator's page settings: a small JSON file turned into a checked
//! [`Site`] once, at start-up (organisation name, categories, feedback
//! deadline, onion address). Refuses any setting a page could not show in
//! both languages. Never holds a secret, and never reads more than one file.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::i18n::{Catalog, CatalogError, Lang};
use crate::model::DEFAULT_CATEGORIES;

/// What the operator configures about the pages.
#[derive(Clone, Debug)]
pub struct Site {
    /// The organisation's name, shown on every page.
    pub org: String,
    /// Category ids offered in the form.
    pub categories: Vec<String>,
    /// Days within which feedback is promised (EU 2019/1937: three months).
    pub feedback_days: u32,
    /// The onion address, shown in the safety advice when set.
    pub onion: String,
}

impl Default for Site {
    fn default() -> Self {
        Site {
            org: "Peluit".into(),
            categories: DEFAULT_CATEGORIES.iter().map(|c| c.to_string()).collect(),
            feedback_days: 90,
            onion: String::new(),
        }
    }
}

/// Largest file read: the settings are a name, a list and two values.
const MAX_FILE_BYTES: u64 = 64 * 1024;
/// Longest organisation name: it sits in every page header on a 360 px phone.
const MAX_ORG_CHARS: usize = 120;
/// Most categories: a longer list is unusable in a phone's picker.
const MAX_CATEGORIES: usize = 40;
/// Longest category id (ids are message-id suffixes, not labels).
pub(crate) const MAX_CATEGORY_ID: usize = 40;
/// Longest feedback promise accepted. EU 2019/1937 asks for three months;
/// other regimes may allow more, but a year is no longer feedback.
const MAX_FEEDBACK_DAYS: u32 = 365;

/// The settings file as the operator writes it. Every field is optional and
/// falls back to [`Site::default`]; an unknown field is an error, so that a
/// misspelt setting is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// The organisation's name, shown on every page.
    pub org: Option<String>,
    /// Category ids, in the order the form lists them.
    pub categories: Option<Vec<String>>,
    /// Days within which feedback is promised on the receipt.
    pub feedback_days: Option<u32>,
    /// The v3 onion address shown in the safety advice.
    pub onion: Option<String>,
}

/// Why a settings file was refused. Messages name the setting and the rule,
/// so the operator can fix the file without reading the code.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the site configuration {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The file is larger than any real settings file.
    #[error("the site configuration is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    /// Not JSON, or not the expected fields.
    #[error("the site configuration is not valid: {0}")]
    Syntax(String),
    /// A bad organisation name.
    #[error("org: {0}")]
    Org(&'static str),
    /// A bad category list.
    #[error("categories: {0}")]
    Categories(String),
    /// A feedback deadline out of range.
    #[error("feedback_days must be between 1 and {MAX_FEEDBACK_DAYS}, not {0}")]
    FeedbackDays(u32),
    /// Not a v3 onion address.
    #[error("onion must be empty or a v3 onion address: 56 letters a-z and digits 2-7, then .onion")]
    Onion,
    /// The built-in message catalogue is broken (a build mistake).
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// Reads, parses and checks a settings file.
pub fn load(path: &Path) -> Result<Site, ConfigError> {
    let text = read_small(path)?;
    let catalog = Catalog::load()?;
    SiteConfig::parse(&text)?.into_site(&catalog)
}

/// Reads at most [`MAX_FILE_BYTES`] (a settings path pointed at a device or a
/// huge file must not eat memory).
fn read_small(path: &Path) -> Result<String, ConfigError> {
    let file = std::fs::File::open(path).map_err(|e| ConfigError::Read(path.to_path_buf(), e))?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text).map_err(|e| ConfigError::Read(path.to_path_buf(), e))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge);
    }
    Ok(text)
}

impl SiteConfig {
    /// Parses the JSON text (no checks beyond the shape).
    pub fn parse(text: &str) -> Result<SiteConfig, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))
    }

    /// Checks every setting and fills the rest from the defaults.
    pub fn into_site(self, catalog: &Catalog) -> Result<Site, ConfigError> {
        let default = Site::default();
        Ok(Site {
            org: self.org.map(check_org).transpose()?.unwrap_or(default.org),
            categories: self
                .categories
                .map(|c| check_categories(c, catalog))
                .transpose()?
                .unwrap_or(default.categories),
            feedback_days: self.feedback_days.map(check_feedback_days).transpose()?.unwrap_or(default.feedback_days),
            onion: self.onion.map(check_onion).transpose()?.unwrap_or(default.onion),
        })
    }
}

/// A name that fits a page header: not blank, not too long, no control
/// characters (it is escaped on every page anyway).
fn check_org(org: String) -> Result<String, ConfigError> {
    let org = org.trim().to_string();
    if org.is_empty() {
        return Err(ConfigError::Org("must not be empty"));
    }
    if org.chars().count() > MAX_ORG_CHARS {
        return Err(ConfigError::Org("must be at most 120 characters"));
    }
    if org.chars().any(char::is_control) {
        return Err(ConfigError::Org("must not contain control characters or line breaks"));
    }
    Ok(org)
}

/// A non-empty list of distinct ids, each with a `category-<id>` message in
/// both languages, so that no form is ever half translated.
fn check_categories(ids: Vec<String>, catalog: &Catalog) -> Result<Vec<String>, ConfigError> {
    if ids.is_empty() {
        return Err(ConfigError::Categories("the list must not be empty".into()));
    }
    if ids.len() > MAX_CATEGORIES {
        return Err(ConfigError::Categories(format!("at most {MAX_CATEGORIES} categories")));
    }
    for (i, id) in ids.iter().enumerate() {
        check_category_id(id)?;
        if ids[..i].contains(id) {
            return Err(ConfigError::Categories(format!("\"{id}\" is listed twice")));
        }
        let key = format!("category-{id}");
        if let Some(lang) = Lang::ALL.into_iter().find(|l| !catalog.has(*l, &key)) {
            let file = format!("locales/{}.ftl", lang.code());
            return Err(ConfigError::Categories(format!("\"{id}\" has no message {key} in {file}")));
        }
    }
    Ok(ids)
}

/// Ids are stored in every manifest and used in message ids: a short,
/// lower-case ASCII word.
fn check_category_id(id: &str) -> Result<(), ConfigError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if id.is_empty() || id.len() > MAX_CATEGORY_ID || !id.chars().all(ok_char) {
        let shown: String = id.chars().take(MAX_CATEGORY_ID).collect();
        return Err(ConfigError::Categories(format!(
            "\"{shown}\" is not an id: use 1 to {MAX_CATEGORY_ID} of a-z, 0-9, _ and -"
        )));
    }
    Ok(())
}

/// Between one day and a year.
fn check_feedback_days(days: u32) -> Result<u32, ConfigError> {
    if (1..=MAX_FEEDBACK_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(ConfigError::FeedbackDays(days))
    }
}

/// Empty, or a v3 onion host name (lower-cased). Only v3 exists since
/// 2021; anything else shown as "the onion address" would send a frightened
/// reporter to a wrong or phishing address. The checksum inside the address
/// is not verified (it needs SHA3-256, which no dependency offers), so a typo
/// within the alphabet passes: the operator must copy the address whole.
fn check_onion(onion: String) -> Result<String, ConfigError> {
    let onion = onion.trim().to_ascii_lowercase();
    if onion.is_empty() {
        return Ok(onion);
    }
    let host = onion.strip_suffix(".onion").ok_or(ConfigError::Onion)?;
    let base32 = |c: char| c.is_ascii_lowercase() || ('2'..='7').contains(&c);
    if host.len() == 56 && host.chars().all(base32) {
        Ok(onion)
    } else {
        Err(ConfigError::Onion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONION: &str = "exampleexampleexampleexampleexampleexampleexampleexample.onion";

    fn site(json: &str) -> Result<Site, ConfigError> {
        let catalog = Catalog::load().unwrap_or_else(|e| panic!("{e}"));
        SiteConfig::parse(json)?.into_site(&catalog)
    }

    fn refused(json: &str) -> String {
        match site(json) {
            Ok(s) => panic!("accepted {json}: {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let s = site("{}").unwrap_or_else(|e| panic!("{e}"));
        let d = Site::default();
        assert_eq!((s.org, s.categories, s.feedback_days, s.onion), (d.org, d.categories, d.feedback_days, d.onion));
    }

    #[test]
    fn every_setting_is_taken() {
        let json = format!(
            r#"{{"org": "  Inspektorat Provinsi Contoh ", "categories": ["suap", "pungli", "lainnya"],
                "feedback_days": 60, "onion": "{}"}}"#,
            ONION.to_uppercase()
        );
        let s = site(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.org, "Inspektorat Provinsi Contoh");
        assert_eq!(s.categories, ["suap", "pungli", "lainnya"]);
        assert_eq!(s.feedback_days, 60);
        assert_eq!(s.onion, ONION);
    }

    #[test]
    fn categories_need_messages_in_both_languages() {
        assert!(refused(r#"{"categories": ["suap", "korupsi-dana-desa"]}"#).contains("category-korupsi-dana-desa"));
        assert!(refused(r#"{"categories": []}"#).contains("empty"));
        assert!(refused(r#"{"categories": ["suap", "suap"]}"#).contains("twice"));
        assert!(refused(r#"{"categories": ["Suap"]}"#).contains("not an id"));
        assert!(refused(r#"{"categories": ["../x"]}"#).contains("not an id"));
        assert!(refused(r#"{"categories": [""]}"#).contains("not an id"));
        let many: Vec<String> = (0..=MAX_CATEGORIES).map(|_| "\"suap\"".to_string()).collect();
        assert!(refused(&format!(r#"{{"categories": [{}]}}"#, many.join(","))).contains("at most"));
    }

    #[test]
    fn bad_names_deadlines_and_onions_are_refused() {
        assert!(refused(r#"{"org": "   "}"#).starts_with("org:"));
        assert!(refused(r#"{"org": "a\nb"}"#).contains("control"));
        assert!(refused(&format!(r#"{{"org": "{}"}}"#, "x".repeat(121))).contains("120"));
        assert!(refused(r#"{"feedback_days": 0}"#).contains("not 0"));
        assert!(refused(r#"{"feedback_days": 366}"#).contains("not 366"));
        assert!(refused(r#"{"feedback_days": -1}"#).contains("not valid"));
        assert!(refused(r#"{"onion": "example.com"}"#).contains("v3"));
        assert!(refused(r#"{"onion": "expyuzz4wqqyqhjn.onion"}"#).contains("v3"), "v2 is gone");
        assert!(refused(&format!(r#"{{"onion": "http://{ONION}"}}"#)).contains("v3"));
        assert!(refused(&format!(r#"{{"onion": "{}"}}"#, &ONION[1..])).contains("v3"), "55 symbols");
        let bad_char = ONION.replacen('x', "1", 1);
        assert!(refused(&format!(r#"{{"onion": "{bad_char}"}}"#)).contains("v3"));
        assert_eq!(site(r#"{"onion": ""}"#).map(|s| s.onion).unwrap_or_else(|e| panic!("{e}")), "");
    }

    #[test]
    fn unknown_settings_and_bad_json_are_refused() {
        assert!(refused(r#"{"feedback_day": 30}"#).contains("feedback_day"));
        assert!(refused(r#"{"org": "x""#).contains("not valid"));
        assert!(refused("org = \"x\"").contains("not valid"));
    }

    #[test]
    fn files_are_read_with_a_size_limit() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let ok = dir.path().join("site.json");
        std::fs::write(&ok, r#"{"org": "Inspektorat", "feedback_days": 30}"#).unwrap_or_else(|e| panic!("{e}"));
        let s = load(&ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.org.as_str(), s.feedback_days), ("Inspektorat", 30));
        let big = dir.path().join("big.json");
        let padded = format!("{{\"org\": \"x\"{}}}", " ".repeat(MAX_FILE_BYTES as usize));
        std::fs::write(&big, padded).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(load(&big), Err(ConfigError::TooLarge)));
        assert!(matches!(load(&dir.path().join("missing.json")), Err(ConfigError::Read(..))));
    }
}
