//! Near-miss suggestions for mistyped ids.

/// The candidate closest to `input`, if one is close enough to be a likely typo: within a few
/// edits (transpositions count as one), or sharing a long prefix with it (Jaro-Winkler).
pub fn suggest<I, S>(input: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let needle = input.to_ascii_lowercase();
    let allowed_edits = 1 + needle.chars().count() / 5;
    candidates
        .into_iter()
        .filter_map(|c| {
            let candidate = c.as_ref().to_ascii_lowercase();
            let edits = strsim::osa_distance(&needle, &candidate);
            let similarity = strsim::jaro_winkler(&needle, &candidate);
            (edits <= allowed_edits || similarity >= 0.88)
                .then(|| (edits, similarity, c.as_ref().to_owned()))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c)
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
        assert_eq!(suggest("wfa", ids).as_deref(), Some("waf"));
        assert_eq!(suggest("quantum-shield", ids), None);
        assert_eq!(suggest("xyz", ids), None);
    }
}
