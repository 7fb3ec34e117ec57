//! Where every key and value of the TOML text is, so diagnostics can name a line and column.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Line and column (both 1-based, the column counted in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[derive(Clone, Debug)]
struct Entry {
    /// The key that names the value; none for array elements and the root.
    key: Option<Range<usize>>,
    value: Range<usize>,
}

/// Path (`purposes.billing.categories[1]`) to the spans of its key and value.
#[derive(Debug, Default)]
pub(crate) struct SpanIndex {
    entries: HashMap<String, Entry>,
}

impl SpanIndex {
    pub(crate) fn build(root: &Spanned<DeTable<'_>>) -> SpanIndex {
        let mut index = SpanIndex::default();
        index.entries.insert(String::new(), Entry { key: None, value: root.span() });
        index.table("", root.get_ref());
        index
    }

    fn table(&mut self, prefix: &str, table: &DeTable<'_>) {
        for (key, value) in table {
            let path =
                if prefix.is_empty() { key.get_ref().to_string() } else { format!("{prefix}.{}", key.get_ref()) };
            self.entries.insert(path.clone(), Entry { key: Some(key.span()), value: value.span() });
            self.value(&path, value.get_ref());
        }
    }

    fn value(&mut self, path: &str, value: &DeValue<'_>) {
        match value {
            DeValue::Table(table) => self.table(path, table),
            DeValue::Array(array) => {
                for (i, element) in array.iter().enumerate() {
                    let element_path = format!("{path}[{i}]");
                    self.entries.insert(element_path.clone(), Entry { key: None, value: element.span() });
                    self.value(&element_path, element.get_ref());
                }
            }
            _ => {}
        }
    }

    pub(crate) fn has(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    /// Start of the value at `path`, or of the nearest ancestor that exists.
    pub(crate) fn value_start(&self, path: &str) -> usize {
        self.nearest(path).map_or(0, |e| e.value.start)
    }

    /// Start of the key that names `path` (such as `billing` in `[purposes.billing]`), falling
    /// back to its value, then to the nearest ancestor.
    pub(crate) fn key_start(&self, path: &str) -> usize {
        self.nearest(path).map_or(0, |e| e.key.as_ref().unwrap_or(&e.value).start)
    }

    fn nearest(&self, mut path: &str) -> Option<&Entry> {
        loop {
            if let Some(entry) = self.entries.get(path) {
                return Some(entry);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    /// The path of the innermost key or value that contains `span`, for errors that carry only
    /// a span (type errors from serde).
    pub(crate) fn path_at(&self, span: &Range<usize>) -> String {
        let mut best: Option<(&String, usize)> = None;
        for (path, entry) in &self.entries {
            for candidate in [entry.key.as_ref(), Some(&entry.value)].into_iter().flatten() {
                let contains = candidate.start <= span.start && span.end <= candidate.end.max(candidate.start + 1);
                let width = candidate.end - candidate.start;
                if contains && best.is_none_or(|(p, w)| width < w || (width == w && path.len() > p.len())) {
                    best = Some((path, width));
                }
            }
        }
        best.map(|(p, _)| p.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nnaam = \"é\"\nx";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        assert_eq!(line_column(text, 6), (2, 1));
        let x = text.rfind('x').unwrap_or_default();
        assert_eq!(line_column(text, x), (3, 1));
        assert_eq!(line_column(text, text.len() + 10), (3, 2));
    }
}
