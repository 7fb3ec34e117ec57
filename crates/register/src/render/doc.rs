//! A tiny document model with a Markdown and an HTML renderer, so the statement is written once
//! and both formats say exactly the same thing. Every text is escaped here, at the one place where
//! it meets markup.

use std::fmt::Write as _;

use super::{Lang, escape_html, escape_markdown};

/// A piece of running text.
#[derive(Debug, Clone)]
pub(crate) enum Inline {
    Text(String),
    Strong(String),
    /// A link; an unsafe URL (not http, https, mailto or tel) is printed as text.
    Link {
        text: String,
        url: String,
    },
}

/// One line or paragraph of inlines.
pub(crate) type Line = Vec<Inline>;

pub(crate) fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

pub(crate) fn strong(s: impl Into<String>) -> Inline {
    Inline::Strong(s.into())
}

pub(crate) fn link(text: impl Into<String>, url: impl Into<String>) -> Inline {
    Inline::Link { text: text.into(), url: url.into() }
}

/// A block of the document.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    /// Level 2 or 3; `id` is the HTML anchor (level 2 headings make the table of contents).
    Heading {
        level: u8,
        id: String,
        text: String,
    },
    Para(Line),
    List(Vec<Line>),
    /// Labelled facts: a definition list in HTML, a bold-labelled list in Markdown.
    Fields(Vec<(String, Vec<Line>)>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<Line>>,
    },
    /// A separate, headed, visually set-apart block (the Art. 21 notice).
    Notice {
        id: String,
        title: String,
        body: Vec<Block>,
    },
}

pub(crate) struct Doc {
    pub lang: Lang,
    pub title: String,
    pub blocks: Vec<Block>,
    /// Label of the table of contents (HTML only).
    pub contents_label: String,
}

pub(crate) fn is_safe_url(url: &str) -> bool {
    if let Some(fragment) = url.strip_prefix('#') {
        return fragment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    }
    let lower = url.to_ascii_lowercase();
    ["https://", "http://", "mailto:", "tel:"].iter().any(|scheme| lower.starts_with(scheme))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'))
}

// ---------------------------------------------------------------------------------------------
// Markdown

pub(crate) fn markdown(doc: &Doc) -> String {
    let mut out = format!("# {}\n", escape_markdown(&doc.title));
    for block in &doc.blocks {
        out.push('\n');
        md_block(&mut out, block, "");
    }
    out
}

fn md_inline(line: &[Inline]) -> String {
    let mut out = String::new();
    for inline in line {
        match inline {
            Inline::Text(s) => out.push_str(&escape_markdown(s)),
            Inline::Strong(s) => {
                let _ = write!(out, "**{}**", escape_markdown(s));
            }
            Inline::Link { text, url } if is_safe_url(url) && !url.starts_with('#') => {
                let _ = write!(out, "[{}](<{}>)", escape_markdown(text), url.replace('\\', "\\\\"));
            }
            Inline::Link { text, .. } => out.push_str(&escape_markdown(text)),
        }
    }
    out
}

fn md_block(out: &mut String, block: &Block, prefix: &str) {
    match block {
        Block::Heading { level, text, .. } => {
            let _ = writeln!(out, "{prefix}{} {}", "#".repeat(usize::from(*level)), escape_markdown(text));
        }
        Block::Para(line) => {
            let _ = writeln!(out, "{prefix}{}", md_inline(line));
        }
        Block::List(items) => {
            for item in items {
                let _ = writeln!(out, "{prefix}- {}", md_inline(item));
            }
        }
        Block::Fields(fields) => {
            for (label, lines) in fields {
                if let [one] = lines.as_slice() {
                    let _ = writeln!(out, "{prefix}- **{}:** {}", escape_markdown(label), md_inline(one));
                } else {
                    let _ = writeln!(out, "{prefix}- **{}:**", escape_markdown(label));
                    for line in lines {
                        let _ = writeln!(out, "{prefix}  - {}", md_inline(line));
                    }
                }
            }
        }
        Block::Table { head, rows } => {
            let cells: Vec<String> = head.iter().map(|h| escape_markdown(h)).collect();
            let _ = writeln!(out, "{prefix}| {} |", cells.join(" | "));
            let _ = writeln!(out, "{prefix}|{}", " --- |".repeat(head.len()));
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| md_inline(c)).collect();
                let _ = writeln!(out, "{prefix}| {} |", cells.join(" | "));
            }
        }
        Block::Notice { title, body, .. } => {
            let _ = writeln!(out, "{prefix}## {}", escape_markdown(title));
            let _ = writeln!(out, "{prefix}");
            let inner = format!("{prefix}> ");
            for (i, block) in body.iter().enumerate() {
                if i > 0 {
                    let _ = writeln!(out, "{prefix}>");
                }
                md_block(out, block, &inner);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTML

/// The only styling: one inline `<style>` element, so a strict CSP can allow it by hash
/// (the server's `style-src 'sha256-…'`, computed from this text).
pub const CSS: &str = "body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;line-height:1.55;\
color:#1b1b1b;background:#fff;max-width:46rem;margin:0 auto;padding:1.5rem 1rem 4rem}\
h1{font-size:1.8rem;line-height:1.2}h2{margin-top:2.2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}\
h3{margin-top:1.6rem}a{color:#0b57a4}dl{margin:.5rem 0}dt{font-weight:600;margin-top:.6rem}\
dd{margin:0 0 0 1rem}dd p{margin:.1rem 0}table{border-collapse:collapse;width:100%;margin:.8rem 0}\
th,td{border:1px solid #bbb;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#f2f2f2}\
.notice{border:3px solid #b35900;background:#fff6e8;padding:0 1.2rem 1rem;margin:2rem 0;border-radius:4px}\
.notice h2{border-bottom:none}nav.toc{background:#f6f6f6;padding:.4rem 1rem;border-radius:4px}\
.meta{color:#555}footer{margin-top:3rem;font-size:.9rem;color:#555;border-top:1px solid #ccc}\
@media print{nav.toc{display:none}.notice{break-inside:avoid}}";

pub(crate) fn html_inline(line: &[Inline]) -> String {
    let mut out = String::new();
    for inline in line {
        match inline {
            Inline::Text(s) => out.push_str(&escape_html(s)),
            Inline::Strong(s) => {
                let _ = write!(out, "<strong>{}</strong>", escape_html(s));
            }
            Inline::Link { text, url } if is_safe_url(url) => {
                let _ = write!(out, "<a href=\"{}\">{}</a>", escape_html(url), escape_html(text));
            }
            Inline::Link { text, .. } => out.push_str(&escape_html(text)),
        }
    }
    out
}

/// The frame of every HTML document: doctype, language, charset, title and the inline style.
pub(crate) fn html_page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"{lang}\" xml:lang=\"{lang}\">\n<head>\n\
<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        lang = lang.as_str(),
        title = escape_html(title),
    )
}

pub(crate) fn html(doc: &Doc) -> String {
    let mut body = format!("<header>\n<h1>{}</h1>\n</header>\n", escape_html(&doc.title));
    let toc: Vec<(&str, &str)> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level: 2, id, text } | Block::Notice { id, title: text, .. } => {
                Some((id.as_str(), text.as_str()))
            }
            _ => None,
        })
        .collect();
    if !toc.is_empty() {
        let _ = write!(
            body,
            "<nav class=\"toc\" aria-label=\"{0}\">\n<h2>{0}</h2>\n<ol>\n",
            escape_html(&doc.contents_label)
        );
        for (id, text) in toc {
            let _ = writeln!(body, "<li><a href=\"#{}\">{}</a></li>", escape_html(id), escape_html(text));
        }
        body.push_str("</ol>\n</nav>\n");
    }
    body.push_str("<main>\n");
    for block in &doc.blocks {
        html_block(&mut body, block);
    }
    body.push_str("</main>\n");
    html_page(doc.lang, &doc.title, &body)
}

fn html_block(out: &mut String, block: &Block) {
    match block {
        Block::Heading { level, id, text } => {
            let _ = writeln!(out, "<h{level} id=\"{}\">{}</h{level}>", escape_html(id), escape_html(text));
        }
        Block::Para(line) => {
            let _ = writeln!(out, "<p>{}</p>", html_inline(line));
        }
        Block::List(items) => {
            out.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(out, "<li>{}</li>", html_inline(item));
            }
            out.push_str("</ul>\n");
        }
        Block::Fields(fields) => {
            out.push_str("<dl>\n");
            for (label, lines) in fields {
                let _ = writeln!(out, "<dt>{}</dt>", escape_html(label));
                if let [one] = lines.as_slice() {
                    let _ = writeln!(out, "<dd>{}</dd>", html_inline(one));
                } else {
                    out.push_str("<dd><ul>\n");
                    for line in lines {
                        let _ = writeln!(out, "<li>{}</li>", html_inline(line));
                    }
                    out.push_str("</ul></dd>\n");
                }
            }
            out.push_str("</dl>\n");
        }
        Block::Table { head, rows } => {
            out.push_str("<table>\n<thead>\n<tr>");
            for h in head {
                let _ = write!(out, "<th scope=\"col\">{}</th>", escape_html(h));
            }
            out.push_str("</tr>\n</thead>\n<tbody>\n");
            for row in rows {
                out.push_str("<tr>");
                for cell in row {
                    let _ = write!(out, "<td>{}</td>", html_inline(cell));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::Notice { id, title, body } => {
            let _ = writeln!(
                out,
                "<section class=\"notice\" id=\"{0}\" aria-labelledby=\"{0}-title\">\n<h2 id=\"{0}-title\">{1}</h2>",
                escape_html(id),
                escape_html(title)
            );
            for block in body {
                html_block(out, block);
            }
            out.push_str("</section>\n");
        }
    }
}
