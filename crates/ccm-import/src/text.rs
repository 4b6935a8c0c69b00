//! Text clean-up shared by the XLSX and JSON readers.

/// Collapses every run of whitespace (including line breaks and no-break
/// spaces) to one space and trims the ends. For ids of headings, titles and
/// domain names.
pub(crate) fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Removes all whitespace. Control ids are sometimes typed with a stray space
/// (`AIS- 02`); no real id contains one.
pub(crate) fn strip_ws(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Cleans a multi-line text (a control specification): unifies line endings,
/// trims trailing whitespace on each line, drops leading and trailing blank
/// lines and surrounding whitespace. Line breaks inside the text are kept,
/// since CSA's specifications use them for lists.
pub(crate) fn clean_block(s: &str) -> String {
    let unified = s.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}

/// `Some(cleaned)` when a short text is non-empty after [`collapse_ws`].
pub(crate) fn non_empty(s: &str) -> Option<String> {
    let c = collapse_ws(s);
    if c.is_empty() { None } else { Some(c) }
}

/// Whether a (whitespace-stripped) string has the shape of a CCM control id:
/// `A&A-01`, `AIS-01`, `DSI-07`, also tolerating other publishers' dotted or
/// underscored forms. It must start with a letter, contain a digit, and use
/// only ASCII letters, digits and `& - . _`.
pub(crate) fn looks_like_control_id(id: &str) -> bool {
    let len = id.chars().count();
    (2..=40).contains(&len)
        && id.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && id.chars().any(|c| c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '&' | '-' | '.' | '_'))
}

/// A v4 domain heading reads `Audit & Assurance - A&A`; the part after the
/// last ` - ` is the domain's abbreviation, which the control ids already
/// carry. Returns the name without it.
pub(crate) fn domain_name_from_heading(s: &str) -> Option<String> {
    let s = collapse_ws(s);
    if let Some((head, tail)) = s.rsplit_once(" - ") {
        let tail = tail.trim();
        let head = head.trim();
        if !head.is_empty() && !tail.is_empty() && tail.chars().count() <= 6 && !tail.contains(' ')
        {
            return Some(head.to_string());
        }
    }
    if s.is_empty() { None } else { Some(s) }
}

/// The v3.0.1 matrix has no title column: its "Control Domain" cell holds
/// the domain on the first line and the control title on the next
/// (`Application & Interface Security\nApplication Security`). One control
/// uses `Domain - Title` on a single line instead. Returns (domain, title).
pub(crate) fn split_v3_domain_cell(s: &str) -> (Option<String>, Option<String>) {
    let unified = s.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<String> = unified.lines().filter_map(non_empty).collect();
    match lines.split_first() {
        None => (None, None),
        Some((first, rest)) if !rest.is_empty() => (Some(first.clone()), Some(rest.join(" "))),
        Some((only, _)) => match only.rsplit_once(" - ") {
            Some((head, tail)) if !head.trim().is_empty() && !tail.trim().is_empty() => {
                (Some(head.trim().to_string()), Some(tail.trim().to_string()))
            }
            _ => (Some(only.clone()), None),
        },
    }
}

/// Lower-cases, collapses whitespace and drops trailing `:`/`*` so header
/// cells compare loosely (`CCM V3.0\nControl ID` → `ccm v3.0 control id`).
pub(crate) fn normalize_header(s: &str) -> String {
    let c = collapse_ws(s).to_lowercase();
    c.trim_end_matches([':', '*', ' ']).to_string()
}

/// Lower-cases and drops every non-alphanumeric character, so JSON keys
/// compare loosely (`control_id`, `controlId`, `Control ID` → `controlid`).
pub(crate) fn normalize_key(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["A&A-01", "AIS-01", "DSI-07", "IVS-13", "GRC-1.2", "X1"] {
            assert!(looks_like_control_id(ok), "{ok}");
        }
        for bad in [
            "",
            "A",
            "Control ID",
            "End of Standard",
            "01-AIS",
            "AIS-XX",
            "A/B-01",
        ] {
            assert!(!looks_like_control_id(bad), "{bad}");
        }
    }

    #[test]
    fn headings_and_v3_cells() {
        assert_eq!(
            domain_name_from_heading("Audit & Assurance - A&A").as_deref(),
            Some("Audit & Assurance")
        );
        assert_eq!(
            domain_name_from_heading("  Logging and\nMonitoring ").as_deref(),
            Some("Logging and Monitoring")
        );
        assert_eq!(domain_name_from_heading("  ").as_deref(), None);
        assert_eq!(
            split_v3_domain_cell("Application & Interface Security\r\nApplication Security"),
            (
                Some("Application & Interface Security".into()),
                Some("Application Security".into())
            )
        );
        assert_eq!(
            split_v3_domain_cell("Datacenter Security - Equipment Location"),
            (
                Some("Datacenter Security".into()),
                Some("Equipment Location".into())
            )
        );
        assert_eq!(
            split_v3_domain_cell("Governance"),
            (Some("Governance".into()), None)
        );
    }

    #[test]
    fn blocks() {
        assert_eq!(
            clean_block("\r\n  First line.  \r\n- item\t\n\n"),
            "First line.\n- item"
        );
        assert_eq!(
            normalize_header(" CCM V3.0\nControl  ID: "),
            "ccm v3.0 control id"
        );
        assert_eq!(
            normalize_key("control_Specification"),
            "controlspecification"
        );
    }
}
