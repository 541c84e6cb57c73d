//! The one table of a submission's text fields. The form, the JSON API, the
//! intake, the reporter's client, `report.md` and the OpenAPI check all walk
//! [`FIELDS`]: adding a field is an entry here, a member of [`Fields`] with
//! its arm in [`Manifest::field_mut`], and its two lines in each `.ftl` file
//! (`field-NAME`, `field-NAME-hint`). Pure data: no I/O.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::Manifest;

/// What a field is for: where the form puts it and who may see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// The category, chosen from a list.
    Category,
    /// One of the 4W+1H answers.
    Fact,
    /// The free text.
    Text,
    /// The optional identity disclosure, behind its warning.
    Identity,
}

/// One text field of a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Its name in the form, the JSON API and the manifest.
    pub name: &'static str,
    /// What it is for.
    pub kind: FieldKind,
    /// Rows of its text box on the form; 0 for a one-line input.
    pub rows: u8,
    /// Its heading in `report.md` (both languages: the case file is read
    /// offline by whoever is on the team).
    pub heading: &'static str,
}

impl Field {
    /// The Fluent id of its label.
    pub fn label_id(&self) -> String {
        format!("field-{}", self.name)
    }

    /// The Fluent id of its hint.
    pub fn hint_id(&self) -> String {
        format!("field-{}-hint", self.name)
    }
}

/// Every text field, in the order the form asks for them.
pub const FIELDS: [Field; 8] = [
    Field { name: "category", kind: FieldKind::Category, rows: 0, heading: "Kategori / Category" },
    Field { name: "what", kind: FieldKind::Fact, rows: 4, heading: "Apa / What" },
    Field { name: "who", kind: FieldKind::Fact, rows: 2, heading: "Siapa / Who" },
    Field { name: "where", kind: FieldKind::Fact, rows: 0, heading: "Di mana / Where" },
    Field { name: "when", kind: FieldKind::Fact, rows: 0, heading: "Kapan / When" },
    Field { name: "how", kind: FieldKind::Fact, rows: 3, heading: "Bagaimana / How" },
    Field { name: "text", kind: FieldKind::Text, rows: 5, heading: "Keterangan / Text" },
    Field { name: "identity", kind: FieldKind::Identity, rows: 2, heading: "Identitas pelapor / Reporter's identity" },
];

/// The fields a reporter types freely (the 4W+1H and the text), in form order.
pub fn typed() -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(|f| matches!(f.kind, FieldKind::Fact | FieldKind::Text))
}

/// The field called `name`, if there is one.
pub fn named(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// The 4W+1H answers as the sealed manifest holds them (`fields: {…}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Fields {
    /// What happened.
    pub what: String,
    /// Who was involved.
    pub who: String,
    /// Where it happened.
    #[serde(rename = "where")]
    pub where_: String,
    /// When it happened.
    pub when: String,
    /// How it happened.
    pub how: String,
}

impl Manifest {
    /// True when every field that `pick` chooses is blank.
    pub fn blank(&self, pick: impl Fn(&Field) -> bool) -> bool {
        FIELDS.iter().filter(|f| pick(f)).all(|f| self.field(f.name).is_none_or(|v| v.trim().is_empty()))
    }

    /// The text of field `name` ([`FIELDS`]).
    pub fn field(&self, name: &str) -> Option<&str> {
        let f = &self.fields;
        Some(match name {
            "category" => &self.category,
            "what" => &f.what,
            "who" => &f.who,
            "where" => &f.where_,
            "when" => &f.when,
            "how" => &f.how,
            "text" => &self.text,
            "identity" => &self.identity,
            _ => return None,
        })
    }

    /// The same, to fill in.
    pub fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        let f = &mut self.fields;
        Some(match name {
            "category" => &mut self.category,
            "what" => &mut f.what,
            "who" => &mut f.who,
            "where" => &mut f.where_,
            "when" => &mut f.when,
            "how" => &mut f.how,
            "text" => &mut self.text,
            "identity" => &mut self.identity,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_the_table_has_a_home_in_the_manifest_and_its_json() {
        let mut m = Manifest::default();
        for (i, f) in FIELDS.iter().enumerate() {
            let slot = m.field_mut(f.name).unwrap_or_else(|| panic!("{} has no slot", f.name));
            *slot = format!("value {i}");
        }
        let json = serde_json::to_value(&m).unwrap_or_else(|e| panic!("{e}"));
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(m.field(f.name), Some(format!("value {i}").as_str()));
            let stored = json.get(f.name).or_else(|| json["fields"].get(f.name));
            assert_eq!(stored.and_then(|v| v.as_str()), Some(format!("value {i}").as_str()), "{}", f.name);
        }
        assert!(m.field("attachments").is_none() && m.field_mut("format").is_none());
        assert!(named("how").is_some() && named("nope").is_none());
        assert_eq!(typed().count(), 6);
    }

    #[test]
    fn the_translations_name_every_field() {
        let catalog = crate::i18n::Catalog::load().unwrap_or_else(|e| panic!("{e}"));
        for lang in [crate::i18n::Lang::Id, crate::i18n::Lang::En] {
            let t = catalog.tr(lang);
            for f in FIELDS {
                for id in [f.label_id(), f.hint_id()] {
                    assert!(!t.get(&id).contains('⟦'), "{id} is missing in {lang:?}");
                }
            }
        }
    }
}
