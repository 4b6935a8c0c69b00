//! [`QueryError`]: what is wrong with a query and the column where it is, with a caret rendering
//! for the command line.

/// A query that does not parse: the 1-based column, counted in characters (Unicode scalar
/// values), and a message saying what is wrong and, where it helps, what to write instead.
///
/// The column is always between 1 and the query's length in characters plus one (one past the
/// end, for "something is missing at the end").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based, in characters.
    pub column: usize,
    /// What is wrong, in the analyst's terms.
    pub message: String,
}

/// Queries longer than this many characters are shown in a window around the column.
const RENDER_WIDTH: usize = 100;

impl QueryError {
    /// An error at `column` (1-based, in characters).
    pub fn new(column: usize, message: impl Into<String>) -> QueryError {
        QueryError {
            column,
            message: message.into(),
        }
    }

    /// The query on one line, a caret under the column, and the message after the caret:
    ///
    /// ```text
    /// user.name:"root
    ///           ^ unclosed quote: no `"` closes this phrase
    /// ```
    ///
    /// Tabs, line breaks and other control characters of the query are shown as spaces so that the
    /// caret stays under its character; a query longer than 100 characters is cut to a window
    /// around the column, with `...` where text was left out. No trailing newline.
    pub fn render(&self, query: &str) -> String {
        let chars: Vec<char> = query
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let index = self.column.saturating_sub(1).min(chars.len());
        let (start, end) = if chars.len() <= RENDER_WIDTH {
            (0, chars.len())
        } else {
            let half = RENDER_WIDTH / 2;
            let start = index.saturating_sub(half);
            let end = (start + RENDER_WIDTH).min(chars.len());
            (end.saturating_sub(RENDER_WIDTH).min(start), end)
        };
        let mut line = String::new();
        let mut caret = index - start;
        if start > 0 {
            line.push_str("...");
            caret += 3;
        }
        line.extend(chars.get(start..end).unwrap_or_default());
        if end < chars.len() {
            line.push_str("...");
        }
        format!("{line}\n{}^ {}", " ".repeat(caret), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_column() {
        let e = QueryError::new(11, "unclosed quote");
        assert_eq!(e.to_string(), "column 11: unclosed quote");
    }

    #[test]
    fn render_puts_the_caret_under_the_column() {
        let e = QueryError::new(11, "unclosed quote");
        assert_eq!(
            e.render("user.name:\"root"),
            "user.name:\"root\n          ^ unclosed quote"
        );
        let end = QueryError::new(11, "missing value");
        assert_eq!(
            end.render("user.name:"),
            "user.name:\n          ^ missing value"
        );
        let tab = QueryError::new(3, "x");
        assert_eq!(tab.render("a\tb"), "a b\n  ^ x");
    }

    #[test]
    fn render_windows_long_queries() {
        let query = format!("{}\"{}", "a".repeat(300), "b".repeat(300));
        let e = QueryError::new(301, "unclosed quote");
        let text = e.render(&query);
        let mut lines = text.lines();
        let line = lines.next().unwrap();
        let caret = lines.next().unwrap();
        assert!(line.starts_with("...") && line.ends_with("..."));
        let at = caret.find('^').unwrap();
        assert_eq!(line.chars().nth(at), Some('"'));
        // Near the end: the window ends at the end of the query.
        let e = QueryError::new(602, "missing value");
        let text = e.render(&query);
        let mut lines = text.lines();
        let line = lines.next().unwrap();
        let caret = lines.next().unwrap();
        assert!(line.starts_with("...") && !line.ends_with("..."));
        assert_eq!(caret.find('^'), Some(line.chars().count()));
    }
}
