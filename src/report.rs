//! Writers: they render a verdict, they never decide it.

pub mod gate;
pub mod github;
pub mod sarif;
pub mod summary;

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
