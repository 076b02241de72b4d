//! JSON as npm's and bun's locks need it: the members of an object in
//! order with their values unparsed, and where each member sits in the
//! text. serde_json keeps no positions, but a borrowed [`RawValue`] is a
//! slice of the text, so its offset is exact; the member's key is found
//! by stepping back from its value over `"key" :`.

use crate::error::ScanError;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt::Display;
use std::path::Path;

/// A string of the text, borrowed unless it has escapes.
pub(in crate::inventory::npm) type Text<'a> = Cow<'a, str>;

/// An object key, borrowed from the text where it can be.
struct Key<'a>(Text<'a>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Key<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Key<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Borrowed(text)))
            }

            fn visit_str<E>(self, text: &str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(text.to_string())))
            }
        }
        deserializer.deserialize_str(Visit(std::marker::PhantomData))
    }
}

/// The members of a JSON object in order, their values unparsed.
pub(in crate::inventory::npm) struct Members<'a>(pub Vec<(Text<'a>, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Members<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Members<'a>, M::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((Key(key), value)) = map.next_entry::<Key, &'a RawValue>()? {
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// The keys of a JSON object (a package's dependencies by name), its
/// values skipped.
#[derive(Default)]
pub(in crate::inventory::npm) struct Names<'a>(pub Vec<Text<'a>>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Names<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Names<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Names<'a>, M::Error> {
                let mut names = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(Key(name)) = map.next_key::<Key>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    names.push(name);
                }
                Ok(Names(names))
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// A member of a section, as errors name it: `packages["node_modules/a"]`.
pub(in crate::inventory::npm) struct Member<'k>(pub &'static str, pub &'k str);

impl Display for Member<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}[\"{}\"]", self.0, self.1)
    }
}

/// The text of a lock, and how to locate what is in it.
pub(in crate::inventory::npm) struct Json<'a> {
    pub path: &'a Path,
    /// What serde_json reads (bun's: with trailing commas blanked, same offsets).
    pub text: &'a str,
    /// What the error messages name: `package-lock.json`, `bun.lock`.
    pub format: &'static str,
    line_starts: Vec<usize>,
}

impl<'a> Json<'a> {
    pub fn new(path: &'a Path, text: &'a str, format: &'static str) -> Json<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Json {
            path,
            text,
            format,
            line_starts,
        }
    }

    /// The 1-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> u32 {
        let line = self.line_starts.partition_point(|&start| start <= offset);
        u32::try_from(line.max(1)).unwrap_or(u32::MAX)
    }

    /// The byte offset of `raw` (a slice of the text) in the text.
    pub fn offset(&self, raw: &str) -> usize {
        (raw.as_ptr() as usize)
            .saturating_sub(self.text.as_ptr() as usize)
            .min(self.text.len())
    }

    /// The lines of an object member: from its key to the end of `value`.
    pub fn member_lines(&self, value: &RawValue) -> crate::inventory::LockLines {
        let start = self.offset(value.get());
        let end = start + value.get().len().saturating_sub(1);
        crate::inventory::LockLines {
            start: self.line_of(key_start(self.text.as_bytes(), start)),
            end: self.line_of(end),
        }
    }

    /// `raw` (a slice of the text) parsed as `T`; an error is located in
    /// the whole text and says which part (`what`) was being read.
    pub fn parse<T: serde::Deserialize<'a>>(
        &self,
        raw: &'a str,
        what: &dyn Display,
    ) -> Result<T, ScanError> {
        serde_json::from_str(raw).map_err(|error| self.error(raw, what, &error))
    }

    fn error(&self, raw: &str, what: &dyn Display, error: &serde_json::Error) -> ScanError {
        // serde_json counts lines from 1 and columns (bytes) from 1 within `raw`.
        let base = self.offset(raw);
        let within = if error.line() <= 1 {
            error.column().saturating_sub(1)
        } else {
            memchr::memchr_iter(b'\n', raw.as_bytes())
                .nth(error.line() - 2)
                .map_or(raw.len(), |newline| newline + error.column())
        };
        let offset = (base + within.min(raw.len())).min(self.text.len());
        let line_start = self.line_starts[self.line_of(offset) as usize - 1];
        let column = self
            .text
            .get(line_start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        let message = error.to_string();
        // Its Display ends in " at line L column C", relative to `raw`:
        // the location is said once, in front.
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m);
        ScanError::BadInputAt {
            path: self.path.to_path_buf(),
            line: self.line_of(offset) as usize,
            column: Some(column),
            message: format!("not a valid {}: {what}: {message}", self.format),
        }
    }

    /// An error at the line of `raw` (a slice of the text).
    pub fn error_at(&self, raw: &str, message: String) -> ScanError {
        ScanError::BadInputAt {
            path: self.path.to_path_buf(),
            line: self.line_of(self.offset(raw)) as usize,
            column: None,
            message,
        }
    }
}

/// The offset of the opening quote of the key whose value starts at
/// `value`, or `value` itself when the text before it is not `"key":`.
fn key_start(text: &[u8], value: usize) -> usize {
    let mut at = value.min(text.len());
    let skip_space = |mut at: usize| {
        while at > 0 && text[at - 1].is_ascii_whitespace() {
            at -= 1;
        }
        at
    };
    at = skip_space(at);
    if at == 0 || text[at - 1] != b':' {
        return value;
    }
    at = skip_space(at - 1);
    if at == 0 || text[at - 1] != b'"' {
        return value;
    }
    // Back to the quote that opens the key: one not escaped, that is,
    // preceded by an even number of backslashes.
    let mut quote = at - 1;
    while let Some(found) = memchr::memrchr(b'"', &text[..quote]) {
        let backslashes = text[..found]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes % 2 == 0 {
            return found;
        }
        quote = found;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_located_from_their_key_to_their_closing_brace() {
        let text = "{\n  \"a\\\"b\"\n  :\n  {\n    \"x\": 1\n  },\n  \"c\": [1,\n 2]\n}\n";
        let json = Json::new(Path::new("lock"), text, "lock");
        let members: Members = json.parse(text, &"the document").unwrap();
        let lines: Vec<(String, u32, u32)> = members
            .0
            .iter()
            .map(|(key, value)| {
                let lines = json.member_lines(value);
                (key.to_string(), lines.start, lines.end)
            })
            .collect();
        assert_eq!(lines, [("a\"b".to_string(), 2, 6), ("c".to_string(), 7, 8)]);
    }

    #[test]
    fn errors_inside_a_member_name_the_line_of_the_whole_text() {
        let text = "{\n  \"a\": {\n    \"x\": \"one\"\n  }\n}\n";
        let json = Json::new(Path::new("lock"), text, "lock");
        let members: Members = json.parse(text, &"the document").unwrap();
        let error = json
            .parse::<std::collections::BTreeMap<String, u32>>(members.0[0].1.get(), &"a")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("lock:3:14: "), "{error}");
        assert!(error.contains("not a valid lock: a: "), "{error}");
        assert!(!error.contains("at line"), "{error}");
    }
}
