//! Secrets hidden one base64 layer deep (a token in a Kubernetes Secret, a
//! Docker `auth` value): find base64 runs, decode those that turn out to be
//! text, and hand the text back to the matcher.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Shorter runs cannot hold a credential worth decoding.
const MIN_RUN: usize = 24;
/// Larger blobs are data (images, archives), not configuration.
const MAX_RUN: usize = 256 * 1024;
/// Bytes decoded first to decide whether the whole blob is text.
const SNIFF: usize = 768;

const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded blob: where its base64 text is in the content, and the text.
pub struct DecodedBlob {
    pub start: usize,
    pub end: usize,
    pub text: Vec<u8>,
}

const fn class_table() -> [u8; 256] {
    // 1: both alphabets, 2: standard only (+ /), 3: url-safe only (- _)
    let mut table = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = if b.is_ascii_alphanumeric() {
            1
        } else if b == b'+' || b == b'/' {
            2
        } else if b == b'-' || b == b'_' {
            3
        } else {
            0
        };
        c += 1;
    }
    table
}
static CLASS: [u8; 256] = class_table();

/// Every base64 run in `content` that decodes to text, in order.
pub fn decoded_blobs(content: &[u8]) -> Vec<DecodedBlob> {
    let is_run_byte = |b: u8| CLASS[b as usize] != 0;
    let mut blobs = Vec::new();
    let n = content.len();
    // No run worth decoding starts before `i`, and a run may start at `i`.
    let mut i = 0;
    while i + MIN_RUN <= n {
        // The hot path: a run of MIN_RUN bytes or more starting in
        // `i..=probe` covers `probe`; when `probe` is no run byte, none does,
        // and MIN_RUN bytes are skipped on one lookup.
        let probe = i + MIN_RUN - 1;
        if !is_run_byte(content[probe]) {
            i = probe + 1;
            continue;
        }
        let mut start = probe;
        while start > i && is_run_byte(content[start - 1]) {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < n && is_run_byte(content[end]) {
            end += 1;
        }
        if !(MIN_RUN..=MAX_RUN).contains(&(end - start)) {
            i = end;
            continue;
        }
        let mut padded_end = end;
        while padded_end < n && content[padded_end] == b'=' && padded_end - end < 2 {
            padded_end += 1;
        }
        if let Some(text) = decode_run(&content[start..end]) {
            blobs.push(DecodedBlob {
                start,
                end: padded_end,
                text,
            });
        }
        i = padded_end;
    }
    blobs
}

/// Decodes one run if it looks like base64 of text.
fn decode_run(run: &[u8]) -> Option<Vec<u8>> {
    let (mut standard_only, mut url_only, mut upper, mut lower) = (false, false, false, false);
    for &b in run {
        match CLASS[b as usize] {
            2 => standard_only = true,
            3 => url_only = true,
            _ => {
                upper |= b.is_ascii_uppercase();
                lower |= b.is_ascii_lowercase();
            }
        }
    }
    // Mixed case is what base64 of text looks like; hex digests and
    // identifiers are not worth decoding.
    if !(upper && lower) || (standard_only && url_only) {
        return None;
    }
    let run = if run.len() % 4 == 1 {
        &run[..run.len() - 1]
    } else {
        run
    };
    let engine = if url_only { &URL_SAFE } else { &STANDARD };
    let sniff_len = run.len().min(SNIFF) / 4 * 4;
    let head = engine.decode(&run[..sniff_len]).ok()?;
    if !is_text(&head) {
        return None;
    }
    if sniff_len == run.len() {
        return Some(head);
    }
    engine.decode(run).ok().filter(|all| is_text(all))
}

/// Mostly printable ASCII or UTF-8 text, as configuration is.
fn is_text(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let printable = bytes
        .iter()
        .filter(|&&b| {
            (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t' || b >= 0x80
        })
        .count();
    printable * 100 >= bytes.len() * 95
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-by-byte scan the skipping one replaced: the same blobs.
    fn decoded_blobs_one_byte_at_a_time(content: &[u8]) -> Vec<DecodedBlob> {
        let mut blobs = Vec::new();
        let n = content.len();
        let mut i = 0;
        while i < n {
            let start = i;
            while i < n && CLASS[content[i] as usize] != 0 {
                i += 1;
            }
            if i == start {
                i += 1;
                continue;
            }
            if !(MIN_RUN..=MAX_RUN).contains(&(i - start)) {
                continue;
            }
            let mut padded_end = i;
            while padded_end < n && content[padded_end] == b'=' && padded_end - i < 2 {
                padded_end += 1;
            }
            if let Some(text) = decode_run(&content[start..i]) {
                blobs.push(DecodedBlob {
                    start,
                    end: padded_end,
                    text,
                });
            }
            i = padded_end;
        }
        blobs
    }

    proptest::proptest! {
        #[test]
        fn skipping_finds_what_a_byte_by_byte_scan_finds(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    "[A-Za-z0-9+/]{0,60}={0,3}",
                    "[A-Za-z0-9_-]{0,60}",
                    "[ \\n\\t.,;:\"'(){}=]{0,4}",
                    "(c2VjcmV0X3Rva2VuX3ZhbHVlXzEyMzQ1Njc4OTA=|dGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVyIHRoZSBsYXp5IGRvZw==)",
                ],
                0..40,
            )
        ) {
            let content = parts.concat();
            let fast = decoded_blobs(content.as_bytes());
            let slow = decoded_blobs_one_byte_at_a_time(content.as_bytes());
            let spans = |blobs: &[DecodedBlob]| {
                blobs.iter().map(|b| (b.start, b.end, b.text.clone())).collect::<Vec<_>>()
            };
            proptest::prop_assert_eq!(spans(&fast), spans(&slow));
        }
    }

    #[test]
    fn finds_and_decodes_text_blobs() {
        // secgate:allow: a made-up credential for this test
        let secret = STANDARD.encode("token: ghp_R3kq9ZbW2xLm7TvN4pQs8YdF1hJc6GaE0uKi");
        let content = format!("data:\n  token: {secret}\n");
        let blobs = decoded_blobs(content.as_bytes());
        assert_eq!(blobs.len(), 1);
        assert_eq!(
            &content.as_bytes()[blobs[0].start..blobs[0].end],
            secret.as_bytes()
        );
        assert!(String::from_utf8_lossy(&blobs[0].text).contains("ghp_R3kq"));
    }

    #[test]
    fn skips_hex_digests_identifiers_and_binary() {
        let hex = "3c5e1a9a646d36c3599cd173a41282daf47c44583ad367b8e6837255952e5c67";
        let binary = STANDARD.encode([
            0u8, 159, 146, 150, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
            20,
        ]);
        let content = format!(
            "checksum = \"{hex}\"\nimg = \"{binary}\"\nsome_identifier_name_that_is_long\n"
        );
        assert!(decoded_blobs(content.as_bytes()).is_empty());
    }

    #[test]
    fn url_safe_alphabet_is_decoded() {
        let encoded = URL_SAFE.encode("password=Zq8~Lr4?Tk9>Wm2?Hb7~Xn3");
        assert!(encoded.contains('-') || encoded.contains('_'), "{encoded}");
        let blobs = decoded_blobs(encoded.as_bytes());
        assert_eq!(blobs.len(), 1, "{encoded}");
        assert!(String::from_utf8_lossy(&blobs[0].text).starts_with("password="));
    }
}
