//! What a change does to the policy file, for pull-request mode: the base's
//! policy applies, and the summary shows the lines the change adds and
//! removes, so a reviewer sees a `fail-on = "none"` or a broad `[[ignore]]`
//! before it is merged.

/// Lines of a longer file than this are not diffed line by line.
const MAX_LINES: usize = 2_000;

/// `- line` / `+ line` for each setting line `base` loses or `head` adds,
/// in file order, a removal before the addition that replaces it; comments
/// and blank lines are left out. At most `limit` lines, then `… and N more`.
pub fn changed_lines(base: &str, head: &str, limit: usize) -> Vec<String> {
    let settings = |text: &str| -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    let (old, new) = (settings(base), settings(head));
    let mut changes = if old.len() > MAX_LINES || new.len() > MAX_LINES {
        whole_file_change(&old, &new)
    } else {
        line_diff(&old, &new)
    };
    if changes.len() > limit {
        let more = changes.len() - limit;
        changes.truncate(limit);
        changes.push(format!("… and {more} more"));
    }
    changes
}

/// A longest-common-subsequence diff: what is in neither common run.
fn line_diff(old: &[String], new: &[String]) -> Vec<String> {
    // common[i][j]: the longest common subsequence of old[i..] and new[j..].
    let mut common = vec![vec![0u16; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut changes = Vec::new();
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || common[i + 1][j] >= common[i][j + 1]) {
            changes.push(format!("- {}", old[i]));
            i += 1;
        } else {
            changes.push(format!("+ {}", new[j]));
            j += 1;
        }
    }
    changes
}

/// For files too long to diff: every line of one missing from the other.
fn whole_file_change(old: &[String], new: &[String]) -> Vec<String> {
    let removed = old
        .iter()
        .filter(|l| !new.contains(l))
        .map(|l| format!("- {l}"));
    let added = new
        .iter()
        .filter(|l| !old.contains(l))
        .map(|l| format!("+ {l}"));
    removed.chain(added).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loosened_policy_shows_what_changed() {
        let base = "# policy\nfail-on = \"high\"\n\n[secrets]\nexclude = []\n";
        let head = "# policy\nfail-on = \"none\"\n\n[secrets]\nexclude = [\"**\"]\n\n[[ignore]]\nid = \"RUSTSEC-2021-0003\"\nreason = \"later\"\n";
        assert_eq!(
            changed_lines(base, head, 10),
            [
                "- fail-on = \"high\"",
                "+ fail-on = \"none\"",
                "- exclude = []",
                "+ exclude = [\"**\"]",
                "+ [[ignore]]",
                "+ id = \"RUSTSEC-2021-0003\"",
                "+ reason = \"later\"",
            ]
        );
    }

    #[test]
    fn comments_and_layout_are_not_changes_and_output_is_bounded() {
        let base = "fail-on = \"high\"\n";
        let head = "# a new comment\n\n  fail-on = \"high\"  \n";
        assert!(changed_lines(base, head, 10).is_empty());
        let head: String = (0..30).map(|i| format!("k{i} = {i}\n")).collect();
        let changes = changed_lines("", &head, 5);
        assert_eq!(changes.len(), 6);
        assert_eq!(changes[5], "… and 25 more");
    }
}
