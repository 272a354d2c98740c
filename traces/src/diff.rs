//! Readable state changes: an actor's state before and after a step, as `Debug` text, parsed
//! into a tree and compared field by field, so that each change names its field path
//! (`role.Leader.next_index[1]: 2 → 1`) instead of a bare line of pretty-printed text.
//!
//! The tree is read from the one-line `{:?}` form: `Name { field: value, … }` (structs and map
//! literals), `Name(a, b)` (tuple structs and variants), `[a, b]` (lists) and `(a, b)` (tuples);
//! anything else (a custom `Debug` such as the ballot `b1.0`) is a leaf, compared as text.
//! Enum variants (told apart from struct names by the serialized state, where only variant
//! names appear as keys) are kept in the path; struct names are not (`durable.log`, not
//! `durable.RaftStorage.log`).

use std::collections::BTreeSet;

/// A parsed `Debug` value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node<'a> {
    /// Text compared as a whole.
    Leaf(&'a str),
    /// `Name { k: v, … }` or `{ k: v }`: named entries.
    Braced {
        header: &'a str,
        entries: Vec<(&'a str, Node<'a>)>,
        text: &'a str,
    },
    /// `Name(a, b)`, `(a, b)` or `[a, b]`: positional items.
    Listed {
        header: &'a str,
        list: bool,
        items: Vec<Node<'a>>,
        text: &'a str,
    },
}

impl<'a> Node<'a> {
    fn text(&self) -> &'a str {
        match self {
            Node::Leaf(t) => t,
            Node::Braced { text, .. } | Node::Listed { text, .. } => text,
        }
    }
}

/// Splits `s` at the top-level occurrences of `sep` (outside brackets and quotes).
fn split_top(s: &str, sep: &str) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let (mut depth, mut i, mut start, mut out) = (0i32, 0usize, 0usize, Vec::new());
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                i = skip_quoted(b, i);
                continue;
            }
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            _ if depth == 0 && s[i..].starts_with(sep) => {
                out.push((start, i));
                i += sep.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push((start, b.len()));
    out
}

/// The index after the quoted literal starting at `i` (a char or string; a lone `'` is text).
fn skip_quoted(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == q => return j + 1,
            _ => j += 1,
        }
    }
    // Unterminated: treat the quote as an ordinary character.
    i + 1
}

/// The index of the bracket closing the one at `open`, if the brackets balance.
fn closing(s: &str, open: usize) -> Option<usize> {
    let b = s.as_bytes();
    let (mut depth, mut i) = (0i32, open);
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                i = skip_quoted(b, i);
                continue;
            }
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn parse(s: &str) -> Node<'_> {
    let s = s.trim();
    let Some(open) = s.find(['{', '(', '[']) else {
        return Node::Leaf(s);
    };
    let header = s[..open].trim_end();
    if !(header.is_empty() || is_ident(header)) || closing(s, open) != Some(s.len() - 1) {
        return Node::Leaf(s);
    }
    let inner = s[open + 1..s.len() - 1].trim();
    let parts: Vec<&str> = if inner.is_empty() {
        Vec::new()
    } else {
        split_top(inner, ",")
            .into_iter()
            .map(|(a, b)| inner[a..b].trim())
            .filter(|p| !p.is_empty())
            .collect()
    };
    match s.as_bytes()[open] {
        b'{' => {
            let mut entries = Vec::new();
            for p in parts {
                let cut = split_top(p, ": ");
                if cut.len() < 2 {
                    return Node::Leaf(s);
                }
                let key = p[..cut[0].1].trim();
                let value = p[cut[1].0..].trim();
                entries.push((key, parse(value)));
            }
            Node::Braced {
                header,
                entries,
                text: s,
            }
        }
        c => {
            if c == b'[' && !header.is_empty() {
                return Node::Leaf(s);
            }
            Node::Listed {
                header,
                list: c == b'[',
                items: parts.into_iter().map(parse).collect(),
                text: s,
            }
        }
    }
}

/// The enum variant names of a serialized value: the object keys that start with a capital
/// letter (serde writes a variant with data as `{"Variant": …}`; struct names never appear).
pub fn variant_names(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if k.chars().next().is_some_and(char::is_uppercase) {
                    out.insert(k.clone());
                }
                variant_names(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| variant_names(v, out)),
        _ => {}
    }
}

/// The changes from `old` to `new` (one-line `Debug` texts of the same actor), one line each:
/// `path: old → new`. `variants` names the enum variants, which are kept in paths.
pub fn field_changes(old: &str, new: &str, variants: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    walk(String::new(), &parse(old), &parse(new), variants, &mut out);
    out
}

fn join(path: &str, seg: &str) -> String {
    if path.is_empty() {
        seg.to_string()
    } else {
        format!("{path}.{seg}")
    }
}

fn change(path: &str, old: &str, new: &str, out: &mut Vec<String>) {
    let name = if path.is_empty() { "state" } else { path };
    out.push(format!("{name}: {old} → {new}"));
}

fn walk(path: String, a: &Node, b: &Node, variants: &BTreeSet<String>, out: &mut Vec<String>) {
    if a.text() == b.text() {
        return;
    }
    match (a, b) {
        (
            Node::Braced {
                header: ha,
                entries: ea,
                ..
            },
            Node::Braced {
                header: hb,
                entries: eb,
                ..
            },
        ) if ha == hb => {
            let here = if !ha.is_empty() && variants.contains(*ha) {
                join(&path, ha)
            } else {
                path.clone()
            };
            // A struct (identifier keys) names fields; a map literal indexes by its keys.
            let map = ha.is_empty();
            let seg = |k: &str| {
                if map {
                    format!("{here}[{k}]")
                } else {
                    join(&here, k)
                }
            };
            for (k, va) in ea {
                match eb.iter().find(|(kb, _)| kb == k) {
                    Some((_, vb)) => walk(seg(k), va, vb, variants, out),
                    None => change(&seg(k), va.text(), "(none)", out),
                }
            }
            for (k, vb) in eb {
                if !ea.iter().any(|(ka, _)| ka == k) {
                    change(&seg(k), "(none)", vb.text(), out);
                }
            }
        }
        (
            Node::Listed {
                header: ha,
                list: true,
                items: ia,
                ..
            },
            Node::Listed {
                header: hb,
                list: true,
                items: ib,
                ..
            },
        ) if ha == hb => {
            for i in 0..ia.len().max(ib.len()) {
                let p = format!("{path}[{i}]");
                match (ia.get(i), ib.get(i)) {
                    (Some(x), Some(y)) => walk(p, x, y, variants, out),
                    (Some(x), None) => change(&p, x.text(), "(none)", out),
                    (None, Some(y)) => change(&p, "(none)", y.text(), out),
                    (None, None) => {}
                }
            }
        }
        // A one-field wrapper (`Some(…)`, `Server(…)`): look inside, keeping a variant's name
        // when the wrapper is a variant with data of its own (`Cmd(…)`), not `Some`.
        (
            Node::Listed {
                header: ha,
                list: false,
                items: ia,
                ..
            },
            Node::Listed {
                header: hb,
                list: false,
                items: ib,
                ..
            },
        ) if ha == hb && !ha.is_empty() && ia.len() == 1 && ib.len() == 1 => {
            // Fields of a struct or items of a list are worth a path; a tuple inside `Some` is
            // shown whole (`Some((b1.0, 'A')) → Some((b2.1, 'B'))`), not stripped of `Some`.
            let inner_structured =
                |n: &Node| matches!(n, Node::Braced { .. } | Node::Listed { list: true, .. });
            if inner_structured(&ia[0]) && inner_structured(&ib[0]) {
                let here = if path.is_empty() || *ha == "Some" {
                    path.clone()
                } else if variants.contains(*ha) {
                    join(&path, ha)
                } else {
                    path.clone()
                };
                walk(here, &ia[0], &ib[0], variants, out);
            } else {
                change(&path, a.text(), b.text(), out);
            }
        }
        _ => change(&path, a.text(), b.text(), out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variants(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn changes_name_their_field_path() {
        let old = "Server(ServerState { durable: RaftStorage { current_term: 1, log: [] }, \
                   role: Leader { next_index: [1, 2, 1], match_index: [0, 0, 0] }, commit_index: 0 })";
        let new = "Server(ServerState { durable: RaftStorage { current_term: 1, log: [t1:noop] }, \
                   role: Leader { next_index: [1, 1, 1], match_index: [0, 0, 0] }, commit_index: 0 })";
        let v = variants(&["Server", "Leader", "Follower"]);
        assert_eq!(
            field_changes(old, new, &v),
            vec![
                "durable.log[0]: (none) → t1:noop",
                "role.Leader.next_index[1]: 2 → 1"
            ]
        );
    }

    #[test]
    fn a_changed_variant_or_option_is_shown_whole() {
        let v = variants(&["Leader", "Follower"]);
        assert_eq!(
            field_changes(
                "S { role: Follower { leader: None }, p: None }",
                "S { role: Leader { next_index: [1] }, p: Some(b1.0) }",
                &v
            ),
            vec![
                "role: Follower { leader: None } → Leader { next_index: [1] }",
                "p: None → Some(b1.0)"
            ]
        );
        // Inside `Some`, fields keep their names; a string with brackets is one leaf.
        assert_eq!(
            field_changes(
                "S { p: Some(P { phase: \"a{(\", n: 1 }) }",
                "S { p: Some(P { phase: \"a{(\", n: 2 }) }",
                &v
            ),
            vec!["p.n: 1 → 2"]
        );
        assert!(field_changes("S { a: 1 }", "S { a: 1 }", &v).is_empty());
        // A tuple inside `Some` keeps its `Some`.
        assert_eq!(
            field_changes(
                "S { accepted: Some((b1.0, 'A')) }",
                "S { accepted: Some((b2.1, 'B')) }",
                &v
            ),
            vec!["accepted: Some((b1.0, 'A')) → Some((b2.1, 'B'))"]
        );
    }

    #[test]
    fn maps_are_indexed_by_key() {
        let v = BTreeSet::new();
        assert_eq!(
            field_changes("S { m: {'x': 'A'} }", "S { m: {'x': 'B', 'y': 'C'} }", &v),
            vec!["m['x']: 'A' → 'B'", "m['y']: (none) → 'C'"]
        );
    }
}
