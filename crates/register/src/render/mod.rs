//! Documents generated from the register: the privacy statement (Art. 13/14, with the Art. 21
//! block) in Dutch or English as Markdown or HTML, and the record of processing activities
//! (Art. 30(1), plus 30(2) when the register has a `[processor]` table) as CSV, JSON or HTML.
//!
//! Everything is a pure function of the register and a [`StatementMeta`] (version, date, hash of
//! the register source), so the same register version always gives byte-identical output.

mod doc;
mod ropa;
mod statement;
mod words;

use std::fmt;
use std::str::FromStr;

pub use doc::CSS as HTML_STYLE;
pub use ropa::ropa;
pub use statement::statement;

/// The language of a generated document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Nl,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    /// The language to serve for an HTTP `Accept-Language` header: the supported language (`nl`,
    /// `en`, any region) with the highest q-value, the earlier one on a tie. `q=0` excludes a
    /// language; `*` stands for Dutch. Dutch when nothing matches.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(u16, Lang)> = None;
        for entry in header.split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let primary = tag.split(['-', '_']).next().unwrap_or("");
            let lang = if primary.eq_ignore_ascii_case("nl") || primary == "*" {
                Lang::Nl
            } else if primary.eq_ignore_ascii_case("en") {
                Lang::En
            } else {
                continue;
            };
            let mut quality = 1000;
            for param in parts {
                if let Some((key, value)) = param.split_once('=')
                    && key.trim().eq_ignore_ascii_case("q")
                {
                    quality = parse_quality(value.trim()).unwrap_or(0);
                }
            }
            if quality > 0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map_or(Lang::Nl, |(_, lang)| lang)
    }
}

/// A q-value in thousandths (`1`, `0.8`, `0.125`); `None` when malformed.
fn parse_quality(raw: &str) -> Option<u16> {
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that is not one of the accepted choices of [`Lang`], [`Format`] or [`RopaFormat`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseChoiceError {
    pub value: String,
    pub expected: &'static str,
}

impl fmt::Display for ParseChoiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not one of {}", self.value, self.expected)
    }
}

impl std::error::Error for ParseChoiceError {}

fn choice<T: Copy>(raw: &str, options: &[(&str, T)], expected: &'static str) -> Result<T, ParseChoiceError> {
    let wanted = raw.trim();
    options
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
        .map(|&(_, value)| value)
        .ok_or_else(|| ParseChoiceError { value: raw.to_owned(), expected })
}

impl FromStr for Lang {
    type Err = ParseChoiceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        choice(s, &[("nl", Lang::Nl), ("en", Lang::En)], "nl, en")
    }
}

/// The format of the privacy statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
}

impl FromStr for Format {
    type Err = ParseChoiceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        choice(s, &[("md", Format::Markdown), ("markdown", Format::Markdown), ("html", Format::Html)], "md, html")
    }
}

/// The format of the Art. 30 record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopaFormat {
    Csv,
    Json,
    Html,
}

impl FromStr for RopaFormat {
    type Err = ParseChoiceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        choice(
            s,
            &[("csv", RopaFormat::Csv), ("json", RopaFormat::Json), ("html", RopaFormat::Html)],
            "csv, json, html",
        )
    }
}

/// Which version of the register a document was generated from; printed in every document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementMeta {
    /// The register version (1, 2, ...).
    pub version: u64,
    /// The publication date, `YYYY-MM-DD`.
    pub date: String,
    /// Hex SHA-256 of the register source.
    pub hash: String,
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes a register text for inline Markdown (CommonMark/GFM): the characters that could start
/// emphasis, code, links, raw HTML, entities, headings or table cells get a backslash, and line
/// breaks become spaces so a text never leaves its list item or table cell.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '&' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_html_replaces_the_five_specials() {
        assert_eq!(escape_html(r#"<a href="x">'T&C'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;T&amp;C&#39;&lt;/a&gt;");
        assert_eq!(escape_html("gewoon, één"), "gewoon, één");
    }

    #[test]
    fn escape_markdown_neutralises_markup() {
        assert_eq!(escape_markdown("*a* _b_ [c](d) <e> | # & `f`"), r"\*a\* \_b\_ \[c\](d) \<e\> \| \# \& \`f\`");
        assert_eq!(escape_markdown("line\nbreak"), "line break");
    }

    #[test]
    fn quality_values() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0.8"), Some(800));
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality("0.1234"), None);
        assert_eq!(parse_quality("x"), None);
    }
}
