//! Localisation with Fluent: Bahasa Indonesia first, English one click away.
//!
//! The language comes from `?lang=` or `Accept-Language`, never a cookie. A
//! missing message shows as `⟦key⟧` so tests can find it on any page.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A page language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Bahasa Indonesia (the default).
    Id,
    /// English.
    En,
}

impl Lang {
    /// Both languages.
    pub const ALL: [Lang; 2] = [Lang::Id, Lang::En];

    /// The language tag (`id`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    /// Chooses the page language: an explicit `?lang=` wins, then the first
    /// supported tag of `Accept-Language`, then Indonesian.
    pub fn negotiate(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        match query {
            Some("en") => return Lang::En,
            Some("id") => return Lang::Id,
            _ => {}
        }
        for tag in accept_language.unwrap_or("").split(',') {
            let primary = tag.split(';').next().unwrap_or("").trim().split('-').next().unwrap_or("");
            match primary.to_ascii_lowercase().as_str() {
                "id" | "in" => return Lang::Id,
                "en" => return Lang::En,
                _ => {}
            }
        }
        Lang::Id
    }
}

/// Both message catalogues, parsed once at start-up.
pub struct Catalog {
    /// Indonesian messages.
    id: FluentBundle<FluentResource>,
    /// English messages.
    en: FluentBundle<FluentResource>,
}

/// Error loading a catalogue (a broken `.ftl` file is a build-time mistake,
/// caught by the tests).
#[derive(Debug, thiserror::Error)]
#[error("message catalogue {0} is invalid")]
pub struct CatalogError(&'static str);

impl Catalog {
    /// Loads the catalogues compiled into the binary.
    pub fn load() -> Result<Catalog, CatalogError> {
        Ok(Catalog {
            id: bundle("id", include_str!("../locales/id.ftl"))?,
            en: bundle("en", include_str!("../locales/en.ftl"))?,
        })
    }

    /// A translator bound to one language, for templates.
    pub fn tr(&self, lang: Lang) -> Tr<'_> {
        Tr { bundle: self.bundle(lang), lang }
    }

    /// Whether `key` has a message in `lang` (the site configuration checks
    /// that every category can be named in both languages).
    pub fn has(&self, lang: Lang, key: &str) -> bool {
        self.bundle(lang).get_message(key).and_then(|m| m.value()).is_some()
    }

    /// The bundle of one language.
    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::Id => &self.id,
            Lang::En => &self.en,
        }
    }

    /// Every message id of one language (for completeness tests).
    pub fn ids(&self, lang: Lang) -> Vec<String> {
        let src = match lang {
            Lang::Id => include_str!("../locales/id.ftl"),
            Lang::En => include_str!("../locales/en.ftl"),
        };
        src.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(" = "))
            .filter_map(|l| l.split(" = ").next().map(str::to_string))
            .collect()
    }
}

/// Parses one `.ftl` source into a bundle.
fn bundle(tag: &'static str, src: &str) -> Result<FluentBundle<FluentResource>, CatalogError> {
    let lang: LanguageIdentifier = tag.parse().map_err(|_| CatalogError(tag))?;
    let res = FluentResource::try_new(src.to_string()).map_err(|_| CatalogError(tag))?;
    let mut b = FluentBundle::new_concurrent(vec![lang]);
    // No Unicode isolation marks: the pages are left-to-right only.
    b.set_use_isolating(false);
    b.add_resource(res).map_err(|_| CatalogError(tag))?;
    Ok(b)
}

/// Looks up messages of one language.
#[derive(Clone, Copy)]
pub struct Tr<'a> {
    /// The language's bundle.
    bundle: &'a FluentBundle<FluentResource>,
    /// The language.
    pub lang: Lang,
}

impl Tr<'_> {
    /// The message `key`, or `⟦key⟧` when it is missing.
    pub fn get(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with one named argument.
    pub fn arg(&self, key: &str, name: &str, value: &str) -> String {
        self.args(key, &[(name, value)])
    }

    /// The message `key` with named arguments.
    pub fn args(&self, key: &str, pairs: &[(&str, &str)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in pairs {
            args.set(name.to_string(), FluentValue::from(value.to_string()));
        }
        self.format(key, Some(&args))
    }

    /// Formats a message; errors in arguments show the message anyway.
    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let Some(pattern) = self.bundle.get_message(key).and_then(|m| m.value()) else {
            return format!("⟦{key}⟧");
        };
        let mut errors = Vec::new();
        self.bundle.format_pattern(pattern, args, &mut errors).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_messages() {
        let c = Catalog::load().unwrap_or_else(|e| panic!("{e}"));
        let mut id = c.ids(Lang::Id);
        let mut en = c.ids(Lang::En);
        id.sort();
        en.sort();
        assert!(id.len() > 50);
        assert_eq!(id, en);
        for key in &id {
            assert!(!c.tr(Lang::Id).get(key).contains('⟦'));
            assert!(!c.tr(Lang::En).get(key).contains('⟦'));
        }
    }

    /// Messages that may read the same in both languages (names, loanwords).
    /// A copied, untranslated message would otherwise slip past the page
    /// tests, which compare the two languages' texts.
    const SAME_IN_BOTH: &[&str] = &["date", "month-4", "month-9", "month-11", "desk-status"];

    #[test]
    fn every_message_is_translated() {
        let c = Catalog::load().unwrap_or_else(|e| panic!("{e}"));
        for key in c.ids(Lang::Id).iter().filter(|k| !SAME_IN_BOTH.contains(&k.as_str())) {
            assert_ne!(c.tr(Lang::Id).get(key), c.tr(Lang::En).get(key), "{key} is not translated");
        }
    }

    #[test]
    fn negotiation() {
        assert_eq!(Lang::negotiate(None, None), Lang::Id);
        assert_eq!(Lang::negotiate(Some("en"), Some("id")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("fr-FR, en-US;q=0.8, id;q=0.5")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("fr")), Lang::Id);
        assert_eq!(Lang::negotiate(Some("xx"), Some("id-ID")), Lang::Id);
    }

    #[test]
    fn arguments_and_missing_keys() {
        let c = Catalog::load().unwrap_or_else(|e| panic!("{e}"));
        assert!(c.tr(Lang::En).arg("receipt-next", "days", "7").contains("within 7 days"));
        let limit = c.tr(Lang::Id).args("field-files-limit", &[("count", "20"), ("size", "256")]);
        assert!(limit.contains("20 berkas") && limit.contains("256 MB"), "{limit}");
        assert_eq!(c.tr(Lang::En).get("no-such-key"), "⟦no-such-key⟧");
        assert!(c.has(Lang::Id, "category-suap") && c.has(Lang::En, "category-suap"));
        assert!(!c.has(Lang::Id, "no-such-key") && !c.has(Lang::En, "category-"));
    }

    #[test]
    fn every_status_and_default_category_has_words() {
        let c = Catalog::load().unwrap_or_else(|e| panic!("{e}"));
        let keys = crate::model::Status::ALL
            .iter()
            .flat_map(|s| [format!("status-{}", s.id()), format!("status-help-{}", s.id())])
            .chain(crate::model::DEFAULT_CATEGORIES.iter().map(|id| format!("category-{id}")));
        for key in keys {
            for lang in Lang::ALL {
                assert!(c.has(lang, &key), "{key} missing in {}", lang.code());
            }
        }
    }
}
