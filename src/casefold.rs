//! The one case folding every case-insensitive comparison uses: Unicode full default case
//! folding (`ß` → `ss`, `Σ`/`ς` → `σ`, `İ` → `i̇`; not the Turkish-specific `I` → `ı`).
//! PostgreSQL computes the same folding with `rolegate_fold(text)` (migration
//! `unicode_case_folding`), generated from the same data by `scripts/casefold.py`, so
//! uniqueness, filters and sorting in the database agree with the server's own comparisons
//! whatever the database's locale. Folding maps each code point on its own, so the folding
//! of a substring is a substring of the folding.

use std::borrow::Cow;

mod table;

pub use table::UNICODE_VERSION;

/// The folding of one code point, if it differs from the code point.
fn fold_char(c: char) -> Option<&'static str> {
    table::FOLDS
        .binary_search_by_key(&c, |(from, _)| *from)
        .ok()
        .and_then(|i| table::FOLDS.get(i))
        .map(|(_, to)| *to)
}

/// `s` case-folded; borrowed when it is already folded.
pub fn fold(s: &str) -> Cow<'_, str> {
    let needs = |c: char| c.is_ascii_uppercase() || (!c.is_ascii() && fold_char(c).is_some());
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            match fold_char(c) {
                Some(folded) => out.push_str(folded),
                None => out.push(c),
            }
        }
    }
    Cow::Owned(out)
}

/// Whether `a` and `b` are equal ignoring case.
pub fn eq(a: &str, b: &str) -> bool {
    fold(a) == fold(b)
}

/// Every code point whose folding differs from itself, with its folding (for the test that
/// compares this table with the database's function).
pub fn foldings() -> impl Iterator<Item = (char, &'static str)> {
    table::FOLDS.iter().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_latin_greek_cyrillic_and_german() {
        assert_eq!(fold("ÉLODIE"), "élodie");
        assert!(eq("élodie", "ÉLODIE"));
        assert!(eq("Straße", "STRASSE"));
        assert!(eq("straße", "STRAẞE"));
        assert!(eq("ΣΊΣΥΦΟΣ", "σίσυφος"));
        assert!(eq("σίσυφοσ", "σίσυφος"), "final sigma folds to sigma");
        assert!(eq("ИРИНА", "ирина"));
        assert_eq!(fold("K"), "k", "the Kelvin sign folds to k");
        assert_eq!(fold("ﬃ"), "ffi");
    }

    #[test]
    fn turkish_i_follows_the_default_not_the_turkic_folding() {
        // İ (dotted capital) folds to i + combining dot; ı (dotless small) has no folding;
        // I folds to i. So "İ" ≠ "i" and "ı" ≠ "I": the language-neutral answer.
        assert_eq!(fold("İ"), "i\u{307}");
        assert_eq!(fold("ı"), "ı");
        assert_eq!(fold("I"), "i");
        assert!(!eq("ı", "I"));
        assert!(!eq("İstanbul", "istanbul"));
    }

    #[test]
    fn folded_text_is_borrowed_and_folding_is_idempotent() {
        assert!(matches!(fold("already folded é"), Cow::Borrowed(_)));
        for (c, folded) in foldings() {
            assert_eq!(
                fold(folded),
                folded,
                "{c:?} folds to an unfolded {folded:?}"
            );
        }
    }

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        assert!(table::FOLDS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
