//! Near-miss suggestions for mistyped ids.

/// The candidate closest to `input`, if one is close enough to be a likely typo.
pub fn suggest<'a, I, S>(input: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str> + 'a,
{
    let needle = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let score = strsim::jaro_winkler(&needle, &c.as_ref().to_ascii_lowercase());
            (score, c.as_ref().to_owned())
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_ids_only() {
        let ids = ["waf", "wtp", "database-audit", "bastion-host"];
        assert_eq!(
            suggest("databse-audit", ids).as_deref(),
            Some("database-audit")
        );
        assert_eq!(suggest("bastion", ids).as_deref(), Some("bastion-host"));
        assert_eq!(suggest("quantum-shield", ids), None);
    }
}
