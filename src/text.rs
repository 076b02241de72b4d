//! Short texts for terminals, SARIF notifications and table cells.

/// `text` on one line: messages from parsers and other tools may span
/// several, and a terminal line, a SARIF notification or a table cell must not.
pub fn one_line(text: &str) -> String {
    if !text.contains(['\n', '\r']) {
        return text.to_string();
    }
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most five items, then how many more.
pub fn abbreviate(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

/// `text` with the password (or a lone token) of each URL's user info
/// masked (`https://user:***@host/`; `git` of `ssh://git@host` kept): lock
/// files and requirement lines carry registry tokens, and what the lock
/// readers read ends up in findings and SBOMs.
pub fn mask_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let (head, tail) = rest.split_at(scheme_end + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', '?', '#', ' ']).unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let user = &authority[..at];
                match user.split_once(':') {
                    Some((name, _)) => {
                        out.push_str(name);
                        out.push_str(":***");
                    }
                    // A lone user part is a token as often as a name.
                    None if user.len() >= 16 => out.push_str("***"),
                    None => out.push_str(user),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_lines_become_one() {
        assert_eq!(one_line("a\n  b\r\n\nc "), "a b c");
        assert_eq!(one_line("kept  as is"), "kept  as is");
    }

    #[test]
    fn long_lists_are_cut_after_five() {
        let items: Vec<String> = (1..=7).map(|i| i.to_string()).collect();
        assert_eq!(abbreviate(&items), "1, 2, 3, 4, 5 and 2 more");
        assert_eq!(abbreviate(&items[..2]), "1, 2");
    }
}
