//! Just enough MIME to read back what Admit sends: headers (unfolded), the
//! parts of a multipart body, transfer encodings and RFC 2047 encoded words.
//! An independent reader, so the tests do not trust lettre to check lettre.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug)]
pub struct Parsed {
    pub headers: Vec<(String, String)>,
    pub parts: Vec<Part>,
}

#[derive(Debug)]
pub struct Part {
    pub content_type: String,
    pub encoding: String,
    /// Decoded; line ends as sent (CRLF).
    pub body: String,
}

impl Parsed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn part(&self, content_type: &str) -> &Part {
        self.parts
            .iter()
            .find(|p| p.content_type.starts_with(content_type))
            .unwrap_or_else(|| panic!("no {content_type} part in {:?}", self.parts))
    }
}

/// A whole message; panics (the test fails) on anything malformed.
pub fn parse(raw: &[u8]) -> Parsed {
    let raw = std::str::from_utf8(raw).expect("a message is 7-bit text");
    assert!(raw.is_ascii(), "the message is 7-bit clean");
    let (headers, body) = split(raw);
    let content_type = find(&headers, "Content-Type")
        .unwrap_or("text/plain")
        .to_owned();
    let parts = if content_type.starts_with("multipart/") {
        let boundary = param(&content_type, "boundary").expect("a multipart has a boundary");
        multipart(body, &boundary)
    } else {
        vec![part(&headers, body)]
    };
    Parsed { headers, parts }
}

fn split(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("headers end with an empty line");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare CR or LF in {line:?}"
        );
        if line.starts_with([' ', '\t']) {
            let (_, value) = headers.last_mut().expect("a continuation follows a header");
            value.push_str(line);
        } else {
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("not a header: {line:?}"));
            assert!(
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()),
                "header name {name:?}"
            );
            headers.push((name.to_owned(), value.trim_start().to_owned()));
        }
    }
    for (_, value) in &mut headers {
        *value = value.trim().to_owned();
    }
    (headers, body)
}

fn find<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case(name)
            .then(|| v.trim_matches('"').to_owned())
    })
}

fn multipart(body: &str, boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let end = format!("--{boundary}--");
    assert!(body.contains(&end), "the multipart is closed");
    let body = body.split(&end).next().unwrap();
    body.split(&delimiter)
        .skip(1) // the preamble
        .map(|chunk| {
            let chunk = chunk
                .strip_prefix("\r\n")
                .expect("a delimiter line ends with CRLF");
            let chunk = chunk
                .strip_suffix("\r\n")
                .expect("a part ends with CRLF before the delimiter");
            let (headers, body) = split(chunk);
            part(&headers, body)
        })
        .collect()
}

fn part(headers: &[(String, String)], body: &str) -> Part {
    let content_type = find(headers, "Content-Type")
        .unwrap_or("text/plain")
        .to_ascii_lowercase();
    let encoding = find(headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "7bit" | "8bit" | "binary" => body.as_bytes().to_vec(),
        "quoted-printable" => quoted_printable(body),
        "base64" => STANDARD
            .decode(body.replace("\r\n", ""))
            .expect("valid base64"),
        other => panic!("unknown transfer encoding {other}"),
    };
    Part {
        content_type,
        encoding,
        body: String::from_utf8(bytes).expect("UTF-8 text"),
    }
}

fn quoted_printable(body: &str) -> Vec<u8> {
    let body = body.replace("=\r\n", ""); // soft line breaks
    let b = body.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("two hex digits");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Decodes a header value's RFC 2047 encoded words (`=?utf-8?b?…?=`, `?q?`);
/// whitespace between two encoded words is dropped, as the RFC says.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending_space = String::new();
    let mut last_was_word = false;
    for token in value.split_inclusive([' ', '\t']) {
        let word = token.trim_end_matches([' ', '\t']);
        let space = &token[word.len()..];
        match decode_word(word) {
            Some(decoded) => {
                if !last_was_word {
                    out.push_str(&pending_space);
                }
                out.push_str(&decoded);
                last_was_word = true;
            }
            None => {
                out.push_str(&pending_space);
                out.push_str(word);
                last_was_word = false;
            }
        }
        pending_space = space.to_owned();
    }
    out
}

fn decode_word(word: &str) -> Option<String> {
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut it = inner.splitn(3, '?');
    let (charset, enc, text) = (it.next()?, it.next()?, it.next()?);
    assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
    let bytes = if enc.eq_ignore_ascii_case("b") {
        STANDARD.decode(text).expect("base64 word")
    } else {
        quoted_printable(&text.replace('_', " "))
    };
    Some(String::from_utf8(bytes).expect("UTF-8 word"))
}
